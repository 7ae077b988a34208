"""What the offline plan's mocks answer: computed state per resource type, invoke results.

A real provider computes some outputs (an endpoint, an ARN, a generated password) that later
resources consume. Each area registers plausible values for its types in its own module here;
no test asserts on these values, only on the inputs the program sends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pulumi.runtime.mocks import MockResourceArgs

StateFn = Callable[[MockResourceArgs], dict[str, Any]]
CallFn = Callable[[dict[str, Any]], dict[str, Any]]

_STATE: dict[str, StateFn] = {}
_CALLS: dict[str, CallFn] = {}


def register_state(type_token_prefix: str, fn: StateFn) -> None:
    _STATE[type_token_prefix] = fn


def register_call(token: str, fn: CallFn) -> None:
    _CALLS[token] = fn


def state_for(args: MockResourceArgs) -> dict[str, Any]:
    state = dict(args.inputs)
    for prefix, fn in _STATE.items():
        if args.typ.startswith(prefix):
            state.update(fn(args))
    return state


def answer_call(token: str, args: dict[str, Any]) -> dict[str, Any]:
    fn = _CALLS.get(token)
    return fn(args) if fn else {}


# Each area's registrations (imported for their side effect of registering).
from hubctl.mocks import base, cloud, data  # noqa: E402,F401
