"""Stack settings: the stack file, validated, and the seed's numbers as data."""

from settings.load import PROJECT, SettingsError, load_settings
from settings.model import ServiceSpec, StackSettings
from settings.stack import StackSpec, load_stack, resolve_stack

__all__ = [
    "PROJECT",
    "ServiceSpec",
    "SettingsError",
    "StackSettings",
    "StackSpec",
    "load_settings",
    "load_stack",
    "resolve_stack",
]
