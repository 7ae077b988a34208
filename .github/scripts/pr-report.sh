#!/usr/bin/env bash
# Offline plans of every stack for a pull request's head and its base, the policy run on each
# head plan, the diff between them, and what a reviewer asks next — the stack's diagram
# (collapsed), the estimated deploy time and the monthly cost, each against the base — assembled
# as one markdown comment (out/comment.md).
#
#   pr-report.sh HEAD_DIR BASE_DIR OUT_DIR PYTHON
#
# Runs with no secrets and no cloud access (DESIGN.md "Why an offline plan"), so it is safe for
# pull requests from forks. Exits 1 when a mandatory policy is violated on any stack, after the
# comment is written, so the comment still explains the failure.
set -euo pipefail

head_dir=$(cd "$1" && pwd)
base_dir=$(cd "$2" && pwd)
mkdir -p "$3"
out=$(cd "$3" && pwd)
python=$4
# PR_REPORT_STACKS narrows the run (tests use one stack); CI plans every stack.
read -r -a stacks <<< "${PR_REPORT_STACKS:-dev:kind staging:aws staging:azure prod:aws prod:azure}"
# GitHub rejects comments over 65536 characters: each stack gets a share, the whole is capped below.
# Measured on all five stacks against a base that cannot be planned (every resource new, every cap
# reached): the diagrams take about 31,700 characters (prod draws both regions, their copies and
# the front door, about 9,300 each), the policy tables 5,100, the header 1,100. With each diff at
# 4,000 the whole was 64,290 characters, 1,200 short of GitHub's limit; at 3,000 it keeps about
# 6,000 in hand for the next component (tests/test_workflows.py runs all five stacks and checks
# the comment is whole, every stack present).
per_stack_diff_chars=3000
max_comment_chars=65000

blocked=0
sections=()
summary_rows=()
for entry in "${stacks[@]}"; do
  stack=${entry%%:*}
  cloud=${entry##*:}
  id="$stack-$cloud"
  cloud_args=()
  [[ $cloud == kind ]] || cloud_args=(--cloud "$cloud")

  echo "== plan: stack $stack, cloud $cloud (head and base) =="
  (cd "$head_dir" && "$python" -m hubctl plan "$stack" "${cloud_args[@]}" --json "$out/head-$id.json") > "$out/head-$id.log"
  tail -n 1 "$out/head-$id.log"
  base_note=""
  if ! (cd "$base_dir" && "$python" -m hubctl plan "$stack" "${cloud_args[@]}" --json "$out/base-$id.json") \
      > "$out/base-$id.log" 2>&1 \
      || ! (cd "$head_dir" && "$python" -m hubctl validate "$out/base-$id.json") >> "$out/base-$id.log" 2>&1; then
    # The base branch may predate this stack, the offline plan, or today's plan contract: diff
    # against an empty plan of the same stack (a valid plan with no resources).
    printf '{"project": "bakhmach-hub", "stack": "%s", "cloud": "%s", "resources": [], "outputs": {"environment": "%s", "cloud": "%s"}}\n' \
      "$stack" "$cloud" "$stack" "$cloud" > "$out/base-$id.json"
    base_note=$'\n_The base branch could not be planned for this stack; every resource shows as new._'
  fi

  echo "== policy: stack $stack, cloud $cloud =="
  policy_rc=0
  policy_args=(--plan "$out/head-$id.json" --stack "$stack" --cloud "$cloud")
  (cd "$head_dir" && "$python" -m hubctl policy "${policy_args[@]}") | tee "$out/policy-$id.txt" || policy_rc=$?
  (cd "$head_dir" && "$python" -m hubctl policy "${policy_args[@]}" --markdown) > "$out/policy-$id.md" || true
  [[ $policy_rc == 0 ]] || blocked=1

  (cd "$head_dir" && "$python" -m hubctl diff "$out/base-$id.json" "$out/head-$id.json") > "$out/diff-$id.txt"
  (cd "$head_dir" && "$python" -m hubctl diff "$out/base-$id.json" "$out/head-$id.json" --markdown \
    --max-chars "$per_stack_diff_chars") > "$out/diff-$id.md"

  echo "== graph, deploy time, cost: stack $stack, cloud $cloud =="
  (cd "$head_dir" && "$python" -m hubctl graph --plan "$out/head-$id.json" --markdown) > "$out/graph-$id.md"
  insight_args=(--plan "$out/head-$id.json" --base "$out/base-$id.json")
  (cd "$head_dir" && "$python" -m hubctl critical-path "${insight_args[@]}" --markdown --json-out "$out/time-$id.json") \
    > "$out/time-$id.md"
  (cd "$head_dir" && "$python" -m hubctl cost "${insight_args[@]}" --markdown --json-out "$out/cost-$id.json") \
    > "$out/cost-$id.md"
  deploy=$("$python" -c 'import json,sys; print("{:.0f} min".format(json.load(open(sys.argv[1]))["total_seconds"] / 60))' \
    "$out/time-$id.json")
  costs=$("$python" -c 'import json,sys; c=json.load(open(sys.argv[1]))["monthly_usd"]; print("{:,.0f} {:,.0f}".format(c["floor"], c["ceiling"]))' \
    "$out/cost-$id.json")
  monthly="\$${costs% *}–\$${costs#* }"

  resources=$("$python" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["resources"]))' "$out/head-$id.json")
  status="✅"
  [[ $policy_rc == 0 ]] || status="❌"
  summary_rows+=("| \`$id\` | $resources | $(head -n 1 "$out/diff-$id.md" | sed -E 's/^\*\*[^*]*\*\* \([^)]*\): //') | $deploy | $monthly | $status |")
  sections+=("$(printf '<details><summary><b>%s</b></summary>\n\n<details><summary>Diagram</summary>\n\n%s\n</details>\n\n%s\n\n%s\n\n#### Changes against the base branch\n\n%s%s\n\n#### Policy pack\n\n%s\n</details>\n' \
    "$id" "$(cat "$out/graph-$id.md")" "$(cat "$out/time-$id.md")" "$(cat "$out/cost-$id.md")" \
    "$(cat "$out/diff-$id.md")" "$base_note" "$(cat "$out/policy-$id.md")")")
done

{
  echo "### Offline plan, policy, diff, deploy time and cost"
  echo
  echo "Planned under Pulumi mocks with no cloud credentials (\`python -m hubctl plan\`); \`pulumi preview\` runs separately where credentials exist. Deploy time: \`hubctl critical-path\` (typical creation times, hubctl/data/creation-times.json); cost: \`hubctl cost\` (pinned list prices, hubctl/data/prices.json; what the table does not price is listed, not guessed)."
  echo
  echo "| stack | resources | change | deploy from empty | monthly, priced (floor–ceiling) | policy |"
  echo "|---|---:|---|---:|---:|:---:|"
  printf '%s\n' "${summary_rows[@]}"
  echo
  printf '%s\n' "${sections[@]}"
} > "$out/comment.full.md"

if (( $(wc -c < "$out/comment.full.md") > max_comment_chars )); then
  head -c "$max_comment_chars" "$out/comment.full.md" > "$out/comment.md"
  printf '\n\n_Comment truncated to stay under GitHub'"'"'s limit; the full report is in the job log and artifact._\n' >> "$out/comment.md"
else
  cp "$out/comment.full.md" "$out/comment.md"
fi

if [[ $blocked == 1 ]]; then
  echo "A mandatory policy is violated (see the policy sections above)." >&2
fi
exit "$blocked"
