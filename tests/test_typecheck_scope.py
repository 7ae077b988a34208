"""mypy analyses only the AWS and Azure service modules the program uses (pyproject.toml: a cold
run otherwise needs 5.5 GB). A used module missing from that list would be typed Any and its
misspelt arguments would pass silently, so this test finds every one the code uses."""

from __future__ import annotations

import ast
import importlib.util
import tomllib
from pathlib import Path

from hubctl.plan import REPO_ROOT

PACKAGES = ("pulumi_aws", "pulumi_azure_native")


def _mypy_config() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["mypy"]


def analysed_modules() -> set[str]:
    normal = [o for o in _mypy_config()["overrides"] if o.get("follow_imports") == "normal"]
    return {module for override in normal for module in override["module"]}


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations)))


def _defining_module(package: str, name: str) -> str:
    """The top-level module of `package` that defines `name` (e.g. pulumi_aws.provider for Provider)."""
    for path in sorted(_package_dir(package).glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            defined = [node.name] if isinstance(node, ast.ClassDef | ast.FunctionDef) else []
            if isinstance(node, ast.Assign):
                defined = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if name in defined:
                return f"{package}.{path.stem}"
    return f"{package}.{name}"


def _program_files() -> list[Path]:
    files: list[Path] = []
    for entry in _mypy_config()["files"]:
        path = REPO_ROOT / entry
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


def used_modules() -> dict[str, str]:
    """{module the program uses: where} for every AWS/Azure module reached by import or attribute."""
    used: dict[str, str] = {}
    for path in _program_files():
        tree = ast.parse(path.read_text())
        bound: dict[str, str] = {}  # local name -> module it is bound to
        where = str(path.relative_to(REPO_ROOT))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in PACKAGES:
                        # `import a.b as c` binds c to a.b; `import a.b` binds a to a.
                        top = alias.name.split(".")[0]
                        bound[alias.asname or top] = alias.name if alias.asname else top
                        used.setdefault(alias.name, where)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PACKAGES:
                for alias in node.names:
                    module = f"{node.module}.{alias.name}"
                    if (_package_dir(node.module.split(".")[0]) / alias.name).is_dir() and node.module in PACKAGES:
                        bound[alias.asname or alias.name] = module
                        used.setdefault(module, where)
                    else:
                        used.setdefault(_defining_module(node.module, alias.name), where)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound:
                package = bound[node.value.id]
                if package in PACKAGES:
                    if (_package_dir(package) / node.attr).is_dir():
                        used.setdefault(f"{package}.{node.attr}", where)
                    else:
                        used.setdefault(_defining_module(package, node.attr), where)
    return used


def test_every_aws_and_azure_module_the_program_uses_is_type_checked() -> None:
    analysed = analysed_modules()
    used = used_modules()
    assert "pulumi_aws.rds" in used and "pulumi_azure_native.containerservice" in used  # the scan finds them
    missing = {module: where for module, where in used.items() if module not in analysed}
    assert missing == {}, "add these to the follow_imports = 'normal' list in pyproject.toml"


def test_skipping_is_limited_to_the_two_cloud_sdks() -> None:
    skipped = [o for o in _mypy_config()["overrides"] if o.get("follow_imports") == "skip"]
    assert [o["module"] for o in skipped] == [["pulumi_aws.*", "pulumi_azure_native.*"]]
