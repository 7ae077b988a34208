"""Stack settings: the stack file, validated, and the seed's numbers as data."""

from settings.load import PROJECT, SettingsError, load_settings
from settings.model import ServiceSpec, StackSettings

__all__ = ["PROJECT", "ServiceSpec", "SettingsError", "StackSettings", "load_settings"]
