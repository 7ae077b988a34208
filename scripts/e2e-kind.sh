#!/usr/bin/env bash
# The real path, end to end: `pulumi up` of the dev stack on a throwaway kind cluster, smoke
# tests against it, `pulumi destroy`, cluster deleted. `make e2e` runs it; so does CI
# (.github/workflows/e2e.yml). Needs Docker, kind, the Pulumi CLI, Python 3.11 and make.
#
#   1. kind cluster from kind/cluster.yaml, its kubeconfig in a temporary file (yours is untouched)
#   2. a local Pulumi backend in a temporary directory with a throwaway passphrase; the backend is
#      chosen with PULUMI_BACKEND_URL, the same file:// backend `pulumi login --local` gives, but
#      without switching the login you have saved
#   3. the policy pack's own virtualenv (policy/venv, PulumiPolicy.yaml) by `pulumi install`
#   4. `pulumi preview` then `pulumi up` of dev, both with the policy pack and dev's enforcement
#      (policy/config/dev.json): violations are printed in the log
#   5. a bounded wait until every Deployment, StatefulSet, DaemonSet and operator-managed resource
#      (databases, Prometheus, Alertmanager) is ready
#      (python -m tests.e2e wait), naming what is not and its events
#   6. the smoke tests (pytest -m e2e tests/e2e)
#   7. `pulumi destroy`, then the cluster is deleted. On any failure or interruption the trap
#      collects diagnostics (pod states, events, logs of failing pods) into $E2E_ARTIFACTS and
#      still destroys and deletes.
#
# Settings (environment): E2E_ARTIFACTS (default build/e2e), E2E_WAIT_SECONDS (900),
# E2E_DESTROY_SECONDS (900), E2E_PYTHON (.venv/bin/python).
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

STACK=dev
PY=${E2E_PYTHON:-$ROOT/.venv/bin/python}
ARTIFACTS=${E2E_ARTIFACTS:-$ROOT/build/e2e}
WAIT_SECONDS=${E2E_WAIT_SECONDS:-900}
DESTROY_SECONDS=${E2E_DESTROY_SECONDS:-900}
STACK_FILE=Pulumi.$STACK.yaml
POLICY=(--policy-pack policy --policy-pack-config "policy/config/$STACK.json")

cluster=""
workdir=""
cluster_created=0
stack_created=0
destroyed=0
current_step=""
in_group=0

log() {
  printf '\n==> %s\n' "$*" >&2
}

die() {
  printf 'e2e: %s\n' "$*" >&2
  exit 1
}

github() {
  [[ ${GITHUB_ACTIONS:-} == true ]]
}

end_group() {
  if ((in_group)); then
    echo "::endgroup::"
    in_group=0
  fi
}

# A titled step, folded in the GitHub Actions log. A failing command ends the script (set -e);
# the trap reports which step it was.
step() {
  local title=$1
  shift
  current_step=$title
  if github; then
    echo "::group::$title"
    in_group=1
  else
    log "$title"
  fi
  "$@"
  end_group
  current_step=""
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  set +e
  end_group
  if ((status != 0)) && [[ -n $current_step ]]; then
    if github; then echo "::error::e2e failed in step: $current_step"; fi
    printf 'e2e: failed in step: %s (exit %d)\n' "$current_step" "$status" >&2
  fi
  if ((status != 0 && cluster_created)); then
    log "collecting diagnostics into $ARTIFACTS"
    "$PY" -m tests.e2e diagnose --out "$ARTIFACTS" || log "could not collect diagnostics"
  fi
  if ((stack_created && !destroyed)); then
    log "pulumi destroy (cleanup, at most ${DESTROY_SECONDS}s)"
    timeout "$DESTROY_SECONDS" pulumi destroy -s "$STACK" --yes --skip-preview --non-interactive \
      || log "pulumi destroy failed during cleanup; the cluster is deleted anyway"
  fi
  if [[ -n $workdir && -f $workdir/$STACK_FILE ]]; then
    # `pulumi stack init` writes the passphrase's salt into the stack file: put it back as it was.
    cp "$workdir/$STACK_FILE" "$STACK_FILE"
  fi
  if ((cluster_created)); then
    log "deleting kind cluster $cluster"
    kind delete cluster --name "$cluster" || log "could not delete kind cluster $cluster"
  fi
  if [[ -n $workdir ]]; then rm -rf "$workdir"; fi
  exit "$status"
}

require() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is not on PATH ($2)"
}

check_tools() {
  require docker "Docker runs the kind node"
  require kind "https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
  require pulumi "https://www.pulumi.com/docs/install/"
  require make "make creates .venv"
  require timeout "coreutils"
  docker info >/dev/null 2>&1 || die "Docker is installed but not running (docker info failed)"
  if ! "$PY" -c 'import kubernetes, pulumi, pytest' >/dev/null 2>&1; then
    make -s .venv/.installed
  fi
}

# The cluster name comes from kind/cluster.yaml; the dev stack deploys to its context.
read_cluster() {
  cluster=$("$PY" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["name"])' kind/cluster.yaml)
  local context
  context=$("$PY" -c '
import sys, yaml
config = yaml.safe_load(open(sys.argv[1]))["config"]
print(config["bakhmach-hub:cluster"]["kubeconfigContext"])' "$STACK_FILE")
  [[ $context == "kind-$cluster" ]] \
    || die "$STACK_FILE deploys to context $context, but kind/cluster.yaml creates kind-$cluster"
  local clusters
  clusters=$(kind get clusters 2>/dev/null || true)
  if grep -qx "$cluster" <<<"$clusters"; then
    die "a kind cluster named $cluster exists already; this run creates and deletes its own: delete yours first (kind delete cluster --name $cluster)"
  fi
}

create_cluster() {
  cluster_created=1
  kind create cluster --config kind/cluster.yaml --wait 180s
}

install_policy_pack() {
  # A local policy pack runs in the virtualenv its PulumiPolicy.yaml names (policy/venv); the
  # CLI does not create it during preview or up. `pulumi install` in the pack's directory creates
  # it and installs policy/requirements.txt.
  (cd policy && pulumi install)
}

init_stack() {
  cp "$STACK_FILE" "$workdir/$STACK_FILE"
  stack_created=1
  pulumi stack init "$STACK" --secrets-provider passphrase --non-interactive
}

preview() {
  mkdir -p "$ARTIFACTS"
  pulumi preview -s "$STACK" "${POLICY[@]}" --non-interactive --diff 2>&1 | tee "$ARTIFACTS/preview.txt"
}

up() {
  pulumi up -s "$STACK" --yes --skip-preview "${POLICY[@]}" --non-interactive
}

wait_ready() {
  "$PY" -m tests.e2e wait --timeout "$WAIT_SECONDS"
}

smoke_tests() {
  BAKHMACH_E2E=1 "$PY" -m pytest tests/e2e -m e2e -p no:cacheprovider -v --junitxml "$ARTIFACTS/junit.xml"
}

destroy() {
  pulumi destroy -s "$STACK" --yes --skip-preview --non-interactive
  destroyed=1
}

main() {
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  check_tools
  read_cluster
  workdir=$(mktemp -d)
  mkdir -p "$workdir/state" "$ARTIFACTS"
  export KUBECONFIG=$workdir/kubeconfig
  export PULUMI_BACKEND_URL=file://$workdir/state
  PULUMI_CONFIG_PASSPHRASE=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(32))')
  export PULUMI_CONFIG_PASSPHRASE
  unset PULUMI_CONFIG_PASSPHRASE_FILE
  export PULUMI_SKIP_UPDATE_CHECK=true

  step "kind cluster $cluster (kind/cluster.yaml)" create_cluster
  step "policy pack dependencies (policy/venv)" install_policy_pack
  step "stack $STACK in a throwaway local backend" init_stack
  step "pulumi preview -s $STACK with the policy pack" preview
  step "pulumi up -s $STACK with the policy pack" up
  step "wait until the stack is ready (at most ${WAIT_SECONDS}s)" wait_ready
  step "smoke tests" smoke_tests
  step "pulumi destroy -s $STACK" destroy
  log "e2e passed: deployed, smoke-tested and destroyed"
}

main "$@"
