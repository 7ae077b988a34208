"""The offline plan: run the real `__main__.py` for a stack under Pulumi's mocks and record it.

No Pulumi CLI, provider plugin, cloud account or cluster is involved. A recording mock monitor
sees every RegisterResource request as the engine would (type, name, parent, dependencies,
provider, protect and the camelCase inputs), and the recorded inputs keep Pulumi's secret
wrappers, so every secret becomes the string "[secret]" in the plan.

Each run gets a fresh `contextvars.Context` and event loop: Pulumi keeps its root stack and
settings in context variables, so two stacks planned in one process never share a root.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import gc
import json
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func

from hubctl import mocks
from hubctl.stackfile import StackConfig, read_stack_config
from settings.load import STACK_FILE

REPO_ROOT = Path(__file__).resolve().parent.parent
SECRET = "[secret]"
UNKNOWN = "[unknown]"

# Pulumi's wire signatures (sdk/go/common/resource/sig).
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SIG_SECRET = "1b47061264138c4ac30d75fd1eb44270"
_SIG_RESOURCE_REF = "5cf8f73096256a8f31e491e813e4eb8e"
_SIG_OUTPUT = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
_UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def _secret_shape(value: Any) -> Any:
    """A secret as the plan shows it: a mapping keeps its keys (a Kubernetes Secret's `stringData`
    says which entries it carries), every value inside becomes "[secret]"."""
    if isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
        return {k: _secret_shape(v) for k, v in value.items()}
    return SECRET


def plain(value: Any) -> Any:
    """Wire form -> plan form: secrets masked, references as URNs, whole floats as ints."""
    if isinstance(value, dict):
        sig = value.get(_SIG_KEY)
        if sig == _SIG_SECRET:
            return _secret_shape(value.get("value"))
        if sig == _SIG_RESOURCE_REF:
            return value.get("urn")
        if sig == _SIG_OUTPUT:
            if value.get("secret"):
                return SECRET
            return plain(value["value"]) if "value" in value else UNKNOWN
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == _UNKNOWN_VALUE:
        return UNKNOWN
    return value


# ---- what the mocks answer ----------------------------------------------------------------
# Computed state (what a real provider reports after create) and invoke answers live in
# `hubctl.mocks`, one module per area, registered by type token or invoke token.


class PlanMocks(pulumi_mocks.Mocks):
    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        return f"{args.name}-id", mocks.state_for(args)

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return mocks.answer_call(args.token, dict(args.args)), []


@dataclass
class PlannedResource:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    dependencies: list[str]
    protect: bool
    inputs: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """A copy: a plan is planned once and shared (tests), so an edit of its JSON stays there."""
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "custom": self.custom,
            "parent": self.parent,
            "provider": self.provider,
            "dependencies": list(self.dependencies),
            "protect": self.protect,
            "inputs": copy.deepcopy(self.inputs),
        }


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.recorded: list[PlannedResource] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type != "pulumi:pulumi:Stack":
            provider = request.provider.rsplit("::", 1)[0] if request.provider else None
            self.recorded.append(
                PlannedResource(
                    urn=urn,
                    type=request.type,
                    name=request.name,
                    custom=bool(request.custom),
                    parent=request.parent or None,
                    provider=provider,
                    dependencies=sorted(set(request.dependencies)),
                    protect=bool(request.protect),
                    inputs=plain(json_format.MessageToDict(request.object)),
                )
            )
        return super().RegisterResource(request)


@dataclass
class Plan:
    project: str
    stack: str
    cloud: str
    resources: list[PlannedResource]
    outputs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Plan:
        """A plan read back from its JSON (validated first: `hubctl.planfile.load_plan`)."""
        return cls(
            project=document["project"],
            stack=document["stack"],
            cloud=document["cloud"],
            resources=[PlannedResource(**r) for r in document["resources"]],
            outputs=document["outputs"],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "cloud": self.cloud,
            "resources": [r.to_json() for r in self.resources],
            "outputs": copy.deepcopy(self.outputs),
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False)


def _resolve_outputs(loop: asyncio.AbstractEventLoop, outputs: dict[str, Any]) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for name, value in outputs.items():
        output = pulumi.Output.from_input(value)
        if loop.run_until_complete(output.is_secret()):
            resolved[name] = SECRET
        else:
            resolved[name] = plain(loop.run_until_complete(output.future()))
    return resolved


def _run(config: StackConfig, program: Path) -> Plan:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    monitor = RecordingMonitor(PlanMocks())
    try:
        pulumi_mocks.set_mocks(PlanMocks(), project=config.project, stack=config.stack, preview=True, monitor=monitor)
        STACK_FILE.set(config.source)
        set_all_config(config.values, config.secret_keys)
        root = str(program.parent)
        if root not in sys.path:
            sys.path.insert(0, root)

        def program_main() -> None:
            runpy.run_path(str(program), run_name="__main__")

        loop.run_until_complete(run_pulumi_func(program_main))
        stack = pulumi_settings.get_root_resource()
        outputs = _resolve_outputs(loop, getattr(stack, "outputs", {}) or {})
        return Plan(
            project=config.project,
            stack=config.stack,
            cloud=config.cloud,
            resources=monitor.recorded,
            outputs=outputs,
        )
    except Exception as exc:
        # How far the program got: a settings error must stop it before any registration.
        exc.resources_registered = len(monitor.recorded)  # type: ignore[attr-defined]
        raise
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def run_plan(stack: str, cloud: str | None = None, root: Path = REPO_ROOT, stack_file: Path | None = None) -> Plan:
    """Plan one stack offline. Raises `settings.SettingsError` for a bad stack file."""
    config = read_stack_config(root, stack, cloud, stack_file)
    # The SDK allocates tens of thousands of short-lived objects (Outputs, tasks, futures) beside
    # hundreds of thousands of long-lived ones (the providers' type modules), so the cyclic GC's
    # full scans cost more than the plan itself (measured: prod on Azure 2.8 s warm with it,
    # 1.3 s without). A plan is bounded and short: collect once afterwards instead.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return contextvars.Context().run(_run, config, root / "__main__.py")
    finally:
        if collecting:
            gc.enable()
            gc.collect()
