"""Turn an operator's CRD into the strict JSON Schema the manifest tests read.

    python tests/crd-schemas/from_crd.py CRD.yaml KIND VERSION > tests/crd-schemas/<group>/<kind>_<version>.json

The same conversion as the datreeio/CRDs-catalog files in ../shared/crd-schemas: the version's
openAPIV3Schema, with `additionalProperties: false` on every object that lists its properties (so a
misplaced field fails) unless the CRD keeps unknown fields, int-or-string as integer or string,
`metadata` as any object, and `apiVersion`/`kind` as strings where the CRD does not list them. Used
where the shared catalog predates the operator version this stack pins (see README.md beside this
file for which file came from which CRD).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import yaml


def strict(node: Any) -> Any:
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: strict(value) for key, value in node.items()}
    if out.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    keeps_unknown = out.get("x-kubernetes-preserve-unknown-fields")
    if "properties" in out and "additionalProperties" not in out and not keeps_unknown:
        out["additionalProperties"] = False
    return out


def main(path: str, kind: str, version: str) -> None:
    with open(path, encoding="utf-8") as crds:
        docs = list(yaml.safe_load_all(crds))
    for doc in docs:
        if not doc or doc.get("kind") != "CustomResourceDefinition" or doc["spec"]["names"]["kind"] != kind:
            continue
        (served,) = [v for v in doc["spec"]["versions"] if v["name"] == version]
        schema = strict(served["schema"]["openAPIV3Schema"])
        schema["properties"]["metadata"] = {"type": "object"}
        # Every object has these two; some CRDs (Istio's) leave them out of their schema.
        for field in ("apiVersion", "kind"):
            schema["properties"].setdefault(field, {"type": "string"})
        json.dump(schema, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
        return
    raise SystemExit(f"no CRD for kind {kind} in {path}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
