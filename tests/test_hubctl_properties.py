"""No traceback, anywhere, for bad input (property-based, Hypothesis).

Generated stack files (wrong types, unknown keys, extreme numbers, unicode, missing sections,
text that is not YAML) go to `plan` and `render`; generated plan files (truncated, not JSON, random
JSON, a real plan with fields removed, retyped or filled with odd values) go to `policy`, `diff`,
`render --plan`, `graph`, `critical-path` and `cost`; generated stack lists (`pulumi stack ls
--json` with tags and protected-resource counts, odd values included) go to `ttl`. Every run
ends in a result — exit 0 (policy: 0 or 1) with the command's normal output — or in exit 2 with
one `hubctl:` message; an exception escaping `main` fails the test with its traceback. An input
known to be invalid (an unknown key, a missing required key, a truncated file, anything
`hubctl.planfile.problems` rejects) must never exit 0.

Bounded for CI: `HUBCTL_PROPERTY_EXAMPLES` examples per property (default 40; about 30 s for all
four on one core under `CI=true`, most of it the stack files that still plan). Under CI
(`CI=true`) the examples are derandomised, so a run is reproducible; locally each run explores
new inputs.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hubctl.cli import main
from hubctl.plan import REPO_ROOT
from hubctl.planfile import problems
from tests.planning import planned

PROPERTY = settings(
    max_examples=int(os.environ.get("HUBCTL_PROPERTY_EXAMPLES", "40")),
    deadline=None,  # a stack file that still plans takes 1-3 s; the bound is max_examples
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)

# ---- values of every JSON/YAML kind, unicode and extreme numbers included -------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([0, -1, 1, 50, 51, 2**31, 2**63, -(2**63), 10**30])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(["", " ", "latest", "dev", "prod", "aws", "azure", "kind", "1.36", "500m", "ü\u200b𝔘", "\x00"])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=10,
)
UNKNOWN_KEY = st.text(min_size=1, max_size=12).map(lambda text: f"zz-{text}")


@dataclass
class Case:
    description: str
    content: bytes
    known_invalid: bool


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a nested document, the root included."""
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


def _at(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


# ---- stack files ----------------------------------------------------------------------------------

# Real keys with values around what they allow: some valid, some just outside, some absurd.
PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "services.replicas": st.integers(min_value=-1, max_value=60),
    "services.cpu": st.sampled_from(["1m", "50m", "500m", "2", "64", "100000", "0", "-1", "1.5", "1e3", "5Ki", "∞"]),
    "services.memory": st.sampled_from(["1Mi", "64Mi", "1.5Gi", "1Ti", "999Pi", "0", "1e9", "12345678901234567890"]),
    "services.args": st.lists(st.text(max_size=20), max_size=3),
    "cluster.kubernetesVersion": st.sampled_from([f"1.{m}" for m in range(26, 42)] + ["1.3", "v1.30", "2.0"]),
    "owner": st.from_regex(r"[a-z0-9][-a-z0-9ü]{0,70}", fullmatch=True),
    "data": st.fixed_dictionaries(
        {},
        optional={
            name: st.fixed_dictionaries({"backend": st.sampled_from(["in-cluster", "managed", "cloud"])})
            for name in ("postgres", "mongo", "redis", "kafka")
        },
    ),
    "cloud": st.sampled_from(["aws", "azure", "kind"]),
}

STACKS = ("dev", "staging", "prod")
REQUIRED = ("bakhmach-hub:environment", "bakhmach-hub:cloud", "bakhmach-hub:owner")


def _stack_document(stack: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())
    return document


@st.composite
def stack_files(draw: st.DrawFn) -> tuple[str, Case]:
    stack = draw(st.sampled_from(STACKS))
    document = copy.deepcopy(_stack_document(stack))
    config = document["config"]
    kind = draw(
        st.sampled_from(
            [
                "unknown-key",
                "replace-value",
                "drop-required",
                "drop-section",
                "enum-text",
                "replicas",
                "garbage",
                # near-valid values of real keys, so that a good share of the files still plan
                "plausible",
                "plausible",
                "plausible",
            ]
        )
    )
    known_invalid = True
    if kind == "plausible":
        name = draw(st.sampled_from(sorted(PLAUSIBLE)))
        value = draw(PLAUSIBLE[name])
        if name.startswith("services."):
            row = draw(st.sampled_from(["auth-service", "bakhmach-core", "debt-agent-ai", "infusion-processor"]))
            config.setdefault("bakhmach-hub:services", {}).setdefault(row, {})[name.split(".", 1)[1]] = value
        elif "." in name:
            section, field = name.split(".", 1)
            config.setdefault(f"bakhmach-hub:{section}", {})[field] = value
        else:
            config[f"bakhmach-hub:{name}"] = value
        known_invalid = False
    elif kind == "unknown-key":
        # Under the project's namespace every mapping is a closed model (extra="forbid").
        mappings = [
            p
            for p in _paths(config)
            if p and str(p[0]).startswith("bakhmach-hub:") and isinstance(_at(config, p), dict)
        ]
        target = _at(config, draw(st.sampled_from(mappings))) if mappings else config
        target[draw(UNKNOWN_KEY)] = draw(VALUES)
        if target is config:  # a top-level key outside the namespace is another program's
            known_invalid = False
    elif kind == "replace-value":
        path = draw(st.sampled_from([p for p in _paths(config) if p]))
        parent = _at(config, path[:-1])
        parent[path[-1]] = draw(VALUES)
        known_invalid = False
    elif kind == "drop-required":
        del config[draw(st.sampled_from(REQUIRED))]
    elif kind == "drop-section":
        del config[draw(st.sampled_from(sorted(config)))]
        known_invalid = False
    elif kind == "enum-text":
        key = draw(st.sampled_from(["bakhmach-hub:environment", "bakhmach-hub:cloud"]))
        config[key] = draw(
            st.text(max_size=20).filter(lambda t: t.strip() not in ("dev", "staging", "prod", "kind", "aws", "azure"))
        )
    elif kind == "replicas":
        service = draw(st.sampled_from(["auth-service", "slon-finance", "debt-agent-ai"]))
        replicas = draw(st.integers(max_value=0) | st.integers(min_value=51) | st.floats(allow_nan=False) | st.text())
        config.setdefault("bakhmach-hub:services", {}).setdefault(service, {})["replicas"] = replicas
        # a float like 3.0 or a text like "3" may still read as a valid count
        known_invalid = isinstance(replicas, int)
    else:
        raw = draw(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
        return stack, Case(kind, raw, known_invalid=True)
    content = yaml.safe_dump(document, allow_unicode=True, sort_keys=False).encode()
    return stack, Case(kind, content, known_invalid)


# ---- plan files -----------------------------------------------------------------------------------

PLAN_KEYS = ("project", "stack", "cloud", "resources", "outputs")
RESOURCE_KEYS = ("urn", "type", "name", "custom", "parent", "provider", "dependencies", "protect", "inputs")


def _real_plan() -> dict[str, Any]:
    return planned("dev", "kind").to_json()


@st.composite
def plan_files(draw: st.DrawFn) -> Case:
    kind = draw(
        st.sampled_from(
            ["truncated", "bytes", "random-json", "drop-key", "drop-resource-key", "retype-field", "odd-inputs"]
        )
    )
    document = _real_plan()
    text = json.dumps(document)
    if kind == "truncated":
        cut = draw(st.integers(min_value=0, max_value=text.rindex("}") - 1))
        return Case(kind, text[:cut].encode(), known_invalid=True)
    if kind == "bytes":
        return Case(kind, draw(st.binary(max_size=300)), known_invalid=True)
    if kind == "random-json":
        return Case(kind, json.dumps(draw(VALUES)).encode(), known_invalid=True)
    resources = document["resources"]
    index = draw(st.integers(min_value=0, max_value=len(resources) - 1))
    if kind == "drop-key":
        del document[draw(st.sampled_from(PLAN_KEYS))]
    elif kind == "drop-resource-key":
        del resources[index][draw(st.sampled_from(RESOURCE_KEYS))]
    elif kind == "retype-field":
        key = draw(st.sampled_from((*RESOURCE_KEYS, *PLAN_KEYS)))
        target = resources[index] if key in RESOURCE_KEYS else document
        target[key] = draw(VALUES)
    else:
        # A well-formed plan with strange inputs: the policies and the diff must cope or report.
        inputs = resources[index]["inputs"]
        path = draw(st.sampled_from(_paths(inputs)))
        if path:
            _at(inputs, path[:-1])[path[-1]] = draw(VALUES)
        else:
            resources[index]["inputs"] = draw(st.dictionaries(st.text(max_size=8), VALUES, max_size=4))
    return Case(kind, json.dumps(document, ensure_ascii=draw(st.booleans())).encode(), known_invalid=False)


# ---- running a command -------------------------------------------------------------------------


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _check(case: Case, code: int, out: str, err: str, ok_codes: tuple[int, ...], done: re.Pattern[str]) -> None:
    event(f"{case.description}: exit {code}")  # shown by pytest --hypothesis-show-statistics
    where = f"{case.description}: exit {code}\nstdout: {out[-500:]}\nstderr: {err[-500:]}"
    assert "Traceback" not in out + err, where
    if code == 2:
        assert err.startswith("hubctl: ") and out == "", where
        return
    assert not case.known_invalid, f"exit {code} on an invalid input: {where}"
    assert code in ok_codes, where
    assert done.search(out), where


@PROPERTY
@given(stack_files(), st.sampled_from(["plan", "render"]))
def test_generated_stack_files_plan_or_are_refused(generated: tuple[str, Case], command: str) -> None:
    stack, case = generated
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "Pulumi.generated.yaml"
        path.write_bytes(case.content)
        written = Path(tmp) / "plan.json"
        if command == "plan":
            argv = ["plan", stack, "--summary", "--stack-file", str(path), "--json", str(written)]
            done = re.compile(r"in total \(stack \S+, cloud (aws|azure|kind)\)\n$")
        else:
            argv = ["render", stack, "--stack-file", str(path), "--out", str(Path(tmp) / "out")]
            done = re.compile(r"manifests written to ")
        code, out, err = _run(argv)
        # What `plan --json` writes always follows the plan contract.
        assert code != 0 or command != "plan" or problems(json.loads(written.read_text())) == []
    _check(case, code, out, err, (0,), done)


@PROPERTY
@given(
    plan_files(),
    st.sampled_from(["policy", "diff-head", "diff-base", "render", "graph", "critical-path", "cost", "cost-base"]),
)
def test_generated_plan_files_are_checked_or_refused(case: Case, command: str) -> None:
    try:
        invalid = bool(problems(json.loads(case.content)))
    except (ValueError, RecursionError):  # not JSON (UnicodeDecodeError is a ValueError)
        invalid = True
    case.known_invalid = case.known_invalid or invalid
    with tempfile.TemporaryDirectory() as tmp:
        path, real = Path(tmp) / "plan.json", Path(tmp) / "real.json"
        path.write_bytes(case.content)
        real.write_text(json.dumps(_real_plan()))
        argv, ok, done = {
            "policy": (["policy", "--plan", str(path)], (0, 1), r"violation\(s\) \(stack "),
            "diff-head": (["diff", str(real), str(path), "--markdown"], (0,), r"to create, "),
            "diff-base": (["diff", str(path), str(real)], (0,), r"to create, "),
            "render": (["render", "--plan", str(path), "--out", str(Path(tmp) / "out")], (0,), r"manifests written"),
            "graph": (["graph", "--plan", str(path), "--out", str(Path(tmp) / "g.mmd")], (0,), r"mermaid written to "),
            "critical-path": (["critical-path", "--plan", str(path)], (0,), r"\ntotal: .* \(stack "),
            "cost": (["cost", "--plan", str(path), "--markdown"], (0,), r"\*\*Monthly cost\*\*"),
            "cost-base": (["cost", "--plan", str(real), "--base", str(path)], (0,), r"\ntotal priced: "),
        }[command]
        code, out, err = _run(argv)
    _check(case, code, out, err, ok, re.compile(done))
    if not case.known_invalid and command == "policy" and code == 1:
        assert "FAILED: " in out


@st.composite
def stack_lists(draw: st.DrawFn) -> Case:
    """`pulumi stack ls --json` with tags, as the TTL sweep gathers it: real shapes with odd values."""
    entry = st.fixed_dictionaries(
        {"name": st.sampled_from(["dev", "dev-alice", "prod", "staging", "org/p/dev-pr-1", ""]) | st.text(max_size=12)},
        optional={
            "tags": st.dictionaries(
                st.sampled_from(["bakhmach:expires", "bakhmach:created", "bakhmach:environment", "x"]),
                st.sampled_from(["2020-01-01T00:00:00Z", "2999-01-01T00:00:00+02:00", "prod", "dev", "", "soon"])
                | st.text(max_size=12),
                max_size=3,
            )
            | VALUES,
            "protectedResources": st.integers(min_value=-1, max_value=3) | VALUES,
            "updateInProgress": st.booleans() | VALUES,
        },
    )
    kind = draw(st.sampled_from(["list", "list", "list", "random-json", "bytes"]))
    if kind == "bytes":
        return Case(kind, draw(st.binary(max_size=100)), known_invalid=True)
    value = draw(st.lists(entry, max_size=5)) if kind == "list" else draw(VALUES)
    return Case(kind, json.dumps(value).encode(), known_invalid=not isinstance(value, list))


@PROPERTY
@given(stack_lists(), st.booleans())
def test_generated_stack_lists_are_judged_or_refused(case: Case, destroyable: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stacks.json"
        path.write_bytes(case.content)
        argv = ["ttl", str(path), "--now", "2026-11-29T12:00:00Z", *(["--destroyable"] if destroyable else [])]
        code, out, err = _run(argv)
    done = re.compile(r"^$|\S" if destroyable else r"stack\(s\): \d+ expired, \d+ to destroy\n$")
    _check(case, code, out, err, (0,), done)
    if code == 0 and destroyable:
        # Only ever an ephemeral dev-<name> stack, never prod.
        assert all(line.rsplit("/", 1)[-1].startswith("dev-") for line in out.splitlines()), out


def test_a_policy_that_breaks_on_a_value_fails_closed() -> None:
    from pulumi_policy import EnforcementLevel, ResourceValidationPolicy

    from hubctl.policy_run import run_policies

    def validate(args: Any, report: Any) -> None:
        raise TypeError("'<' not supported between instances of 'str' and 'int'")

    broken = ResourceValidationPolicy("breaks", "always raises", validate, EnforcementLevel.ADVISORY)
    report = run_policies(_real_plan(), {}, [broken])
    assert len(report.mandatory) == len(_real_plan()["resources"])
    assert report.mandatory[0].message == (
        "the policy could not evaluate this resource "
        "(TypeError: '<' not supported between instances of 'str' and 'int')"
    )
