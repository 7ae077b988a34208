# Two entry points (see README.md): `make plan` and `make test`. Both create the virtualenv on
# first use; nothing needs to be installed by hand beyond Python 3.11 and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STACK ?= dev

.PHONY: plan test lint typecheck unit render bench clean promtool

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

plan: $(STAMP)  ## the offline plan of a stack (default dev): make plan STACK=prod
	$(PY) -m hubctl plan $(STACK) --json build/plan-$(STACK).json

render: $(STAMP)
	$(PY) -m hubctl render $(STACK) --out build/manifests-$(STACK)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# promtool for the alert rules' unit tests: Debian's prometheus package, unpacked (no root needed).
PROMTOOL := .tools/promtool
$(PROMTOOL): scripts/install-promtool.sh
	scripts/install-promtool.sh .tools

promtool: $(PROMTOOL)

unit: $(STAMP) $(PROMTOOL)
	$(PY) -m pytest -n 2 -q

test: lint typecheck checkov-env unit policy scan  ## everything CI runs

bench: $(STAMP)
	$(PY) scripts/benchmark.py

# Not part of `test`: needs Docker, kind and the Pulumi CLI (README "Deploying for real").
.PHONY: e2e
e2e: $(STAMP)  ## pulumi up of dev on a throwaway kind cluster, smoke tests, destroy (scripts/e2e-kind.sh)
	scripts/e2e-kind.sh

clean:
	rm -rf build .mypy_cache .pytest_cache .ruff_cache .tools

# ---- policy pack and scanners (docs/CI.md) --------------------------------------------------
# checkov lives in its own virtualenv: its pins (packaging<24, an old boto3) clash with pulumi's.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
PLANS := dev-kind staging-aws staging-azure prod-aws prod-azure

.PHONY: policy scan checkov-env

$(CHECKOV_STAMP): requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

checkov-env: $(CHECKOV_STAMP)  ## before `unit`: its slow tests run checkov

# Every step names the stack and cloud it is about: `== <step>: stack <stack>, cloud <cloud> ==`.
policy: $(STAMP)  ## plan every stack and run the policy pack on each; fails on a mandatory violation
	@mkdir -p build; status=0; for plan in $(PLANS); do \
	  stack=$${plan%-*}; cloud=$${plan#*-}; \
	  if [ "$$cloud" = kind ]; then opt=""; else opt="--cloud $$cloud"; fi; \
	  echo "== policy: stack $$stack, cloud $$cloud =="; \
	  summary=$$($(PY) -m hubctl plan $$stack $$opt --summary --json build/plan-$$plan.json) || exit 1; \
	  echo "$$summary" | tail -n 1; \
	  $(PY) -m hubctl policy --plan build/plan-$$plan.json --stack $$stack --cloud $$cloud || status=1; \
	done; exit $$status

# Manifests are rendered from the plans `policy` wrote (render --plan checks each is a plan of its
# stack); checkov runs once per stack, so each result block says which stack it is about.
scan: $(STAMP) $(CHECKOV_STAMP) policy  ## checkov over every stack's manifests, actionlint over the workflows, shellcheck over the scripts
	@for plan in $(PLANS); do \
	  stack=$${plan%-*}; cloud=$${plan#*-}; \
	  echo "== checkov: stack $$stack, cloud $$cloud (build/manifests-$$plan) =="; \
	  $(PY) -m hubctl render --plan build/plan-$$plan.json --out build/manifests-$$plan || exit 1; \
	  $(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml -d build/manifests-$$plan || exit 1; \
	done
	@echo "== actionlint: .github/workflows =="
	$(VENV)/bin/actionlint -shellcheck $(VENV)/bin/shellcheck -ignore 'runtime "node20" is deprecated'
	@echo "== shellcheck: scripts =="
	$(VENV)/bin/shellcheck scripts/*.sh .github/scripts/*.sh .ci/run
