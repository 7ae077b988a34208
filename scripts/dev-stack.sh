#!/usr/bin/env bash
# A dev stack of your own (per developer) or of a pull request, made from the dev template:
#
#   scripts/dev-stack.sh NAME        # creates stack dev-NAME, e.g. dev-alice or dev-pr-123
#
# Its settings are Pulumi.dev.yaml's, copied into Pulumi.dev-NAME.yaml (not committed: .gitignore)
# unless that file already exists, in which case it is used as it is. The stack is tagged with its
# lifetime from the seed (dev: 7 days; `hubctl ttl --tags-for dev`), which the scheduled
# ttl workflow reads to destroy it once expired (docs/CI.md "Environment lifetimes").
# Each dev stack needs a kind cluster of its own: the namespaces have fixed names.
set -Eeuo pipefail

name=${1:-}
if ! [[ $name =~ ^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$ ]]; then
  echo "usage: $0 NAME (a DNS label of at most 42 characters: the stack is dev-NAME)" >&2
  exit 2
fi
stack="dev-$name"
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$root/.venv/bin/python}
cd "$root"

pulumi stack init "$stack"
if ! grep -q '^config:' "Pulumi.$stack.yaml" 2>/dev/null; then
  # `stack init` may have written the stack's encryption salt: keep it, add the template's config.
  "$python" - "$stack" <<'PY'
import sys
from pathlib import Path

import yaml

stack = sys.argv[1]
target = Path(f"Pulumi.{stack}.yaml")
own = yaml.safe_load(target.read_text()) if target.exists() else None
template = yaml.safe_load(Path("Pulumi.dev.yaml").read_text())
document = (own or {}) | {"config": template["config"]}
target.write_text(f"# Made from Pulumi.dev.yaml by scripts/dev-stack.sh for stack {stack}.\n" + yaml.safe_dump(document, sort_keys=False))
PY
fi
tags=$("$python" -m hubctl ttl --tags-for dev)
while IFS='=' read -r tag value; do
  pulumi stack tag set --stack "$stack" "$tag" "$value"
done <<< "$tags"
echo "stack $stack created from the dev template; it expires in 7 days (pulumi stack tag ls --stack $stack)"
