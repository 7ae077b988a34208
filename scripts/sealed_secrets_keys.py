"""Back up or restore the Sealed Secrets controller's sealing keys (docs/SECRETS.md).

    python scripts/sealed_secrets_keys.py backup FILE [--context CTX]   # every sealing key -> FILE
    python scripts/sealed_secrets_keys.py restore FILE [--context CTX]  # FILE -> the cluster, controller restarted

Every key the controller ever generated is kept (a renewal adds one and removes none), and every
one is needed: a SealedSecret stays sealed with the key that was newest when it was made. FILE
holds private keys: it is written with mode 0600 and belongs in the team's secret store
(docs/SECRETS.md), never in git. The backup drops what only the source cluster knows (uid,
resourceVersion, timestamps, managed fields), so restore can create the keys in a new cluster.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

NAMESPACE = "sealed-secrets"  # components/sealed_secrets.py
KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"  # on every key the controller makes
CONTROLLER = "sealed-secrets-controller"
# Metadata that names one object in one cluster, not the key it holds.
CLUSTER_OWN = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "selfLink")


def kubectl(context: str | None, *args: str, capture: bool = False) -> str:
    command = ["kubectl", *(["--context", context] if context else []), *args]
    done = subprocess.run(command, check=False, capture_output=capture, text=True)
    if done.returncode != 0:
        detail = (done.stderr or "").strip() if capture else ""
        raise SystemExit(f"{' '.join(command[:4])} ... failed ({done.returncode}){': ' + detail if detail else ''}")
    return done.stdout if capture else ""


def portable(secret: dict[str, Any]) -> dict[str, Any]:
    """A key Secret as it can be created in another cluster: name, labels, type and data only."""
    meta = {k: v for k, v in secret["metadata"].items() if k not in CLUSTER_OWN}
    annotations = {
        k: v for k, v in (meta.pop("annotations", None) or {}).items() if not k.startswith("kubectl.kubernetes.io/")
    }
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": secret.get("type"), "data": secret["data"]}


def backup(file: Path, context: str | None) -> int:
    listed = json.loads(
        kubectl(
            context,
            "get",
            "secret",
            "--namespace",
            NAMESPACE,
            "--selector",
            KEY_LABEL,
            "--output",
            "json",
            capture=True,
        )
    )
    keys = [portable(s) for s in listed.get("items", [])]
    if not keys:
        print(f"no sealing key in namespace {NAMESPACE} (is the controller installed and running?)", file=sys.stderr)
        return 1
    # Created with 0600 before a byte of key material is written.
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        yaml.safe_dump_all(keys, out, sort_keys=False)
    print(f"backed up {len(keys)} sealing key(s) from {NAMESPACE}: {', '.join(k['metadata']['name'] for k in keys)}")
    return 0


def restore(file: Path, context: str | None) -> int:
    try:
        keys = [d for d in yaml.safe_load_all(file.read_text(encoding="utf-8")) if d]
    except (OSError, yaml.YAMLError) as exc:
        print(f"cannot read {file}: {exc}", file=sys.stderr)
        return 1
    if not keys or any(
        d.get("kind") != "Secret" or KEY_LABEL not in ((d.get("metadata") or {}).get("labels") or {}) for d in keys
    ):
        print(f"{file} is not a sealing key backup (every document a Secret labelled {KEY_LABEL})", file=sys.stderr)
        return 1
    for key in keys:
        key["metadata"]["namespace"] = NAMESPACE
    kubectl(context, "get", "namespace", NAMESPACE, capture=True)
    # Applied from stdin: the keys never touch the disk again.
    command = ["kubectl", *(["--context", context] if context else []), "apply", "--filename", "-"]
    done = subprocess.run(command, input=yaml.safe_dump_all(keys), text=True, check=False)
    if done.returncode != 0:
        return done.returncode
    # The controller reads its keys when it starts.
    kubectl(context, "rollout", "restart", "deployment", CONTROLLER, "--namespace", NAMESPACE)
    kubectl(context, "rollout", "status", "deployment", CONTROLLER, "--namespace", NAMESPACE, "--timeout", "180s")
    print(f"restored {len(keys)} sealing key(s) into {NAMESPACE}; the controller restarted with them")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("backup", "restore"))
    parser.add_argument("file", type=Path)
    parser.add_argument("--context", help="the kubeconfig context (default: the current one)")
    args = parser.parse_args(argv)
    return backup(args.file, args.context) if args.command == "backup" else restore(args.file, args.context)


if __name__ == "__main__":
    sys.exit(main())
