#!/usr/bin/env bash
# The environment lifetimes, enforced: list every stack of the project with its tags and its
# protected resources, judge each with `hubctl ttl`, and with --destroy destroy and remove the
# expired ephemeral ones (dev-<name>). Never prod, never a stack with a protected resource, never
# one whose protected resources could not be counted (hubctl/ttl.py has the rules).
#
#   ttl-sweep.sh OUT_DIR PYTHON [--destroy]
#
# Needs the Pulumi CLI logged in to the project's backend, run from the repository root.
# Writes OUT_DIR/stacks.json (what was judged) and OUT_DIR/ttl.md (the report); exits 1 when a
# destroy failed (the others are still attempted).
set -Eeuo pipefail

mkdir -p "$1"
out=$(cd "$1" && pwd)
python=$2
destroy=${3:-}

pulumi stack ls --json > "$out/stack-ls.json"
listing=$("$python" -c 'import json,sys; [print(s["name"]) for s in json.load(open(sys.argv[1]))]' "$out/stack-ls.json")
mapfile -t names <<< "$listing"
mkdir -p "$out/stacks"
for name in "${names[@]}"; do
  [[ -n $name ]] || continue
  file="$out/stacks/${name//\//_}"
  pulumi stack tag ls --stack "$name" --json > "$file.tags.json"
  # A stack whose state cannot be read counts as unknown (kept): no protectedResources then.
  if pulumi stack export --stack "$name" > "$file.state.json"; then
    echo ok > "$file.exported"
  fi
done
"$python" - "$out" <<'PY'
import json
import sys
from pathlib import Path

out = Path(sys.argv[1])
stacks = json.loads((out / "stack-ls.json").read_text())
for stack in stacks:
    base = out / "stacks" / stack["name"].replace("/", "_")
    stack["tags"] = json.loads(Path(f"{base}.tags.json").read_text() or "{}")
    if Path(f"{base}.exported").exists():
        state = json.loads(Path(f"{base}.state.json").read_text() or "{}")
        resources = (state.get("deployment") or {}).get("resources") or []
        stack["protectedResources"] = sum(1 for r in resources if r.get("protect"))
(out / "stacks.json").write_text(json.dumps(stacks, indent=2) + "\n")
PY

{
  echo "### Environment lifetimes"
  echo
  echo '```'
  "$python" -m hubctl ttl "$out/stacks.json"
  echo '```'
} > "$out/ttl.md"
cat "$out/ttl.md"

[[ $destroy == --destroy ]] || exit 0
failed=0
listing=$("$python" -m hubctl ttl "$out/stacks.json" --destroyable)
mapfile -t expired <<< "$listing"
for name in "${expired[@]}"; do
  [[ -n $name ]] || continue
  echo "== destroy: stack $name (expired, ephemeral, nothing protected) =="
  if pulumi destroy --stack "$name" --yes --skip-preview --non-interactive \
      && pulumi stack rm --stack "$name" --yes --non-interactive; then
    echo "- destroyed \`$name\`" >> "$out/ttl.md"
  else
    echo "- **could not destroy** \`$name\` (see the job log)" >> "$out/ttl.md"
    failed=1
  fi
done
exit "$failed"
