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

policy: $(STAMP)  ## plan every stack and run the policy pack on each; fails on a mandatory violation
	@mkdir -p build; status=0; for plan in $(PLANS); do \
	  stack=$${plan%-*}; cloud=$${plan#*-}; \
	  if [ "$$cloud" = kind ]; then opt=""; else opt="--cloud $$cloud"; fi; \
	  $(PY) -m hubctl plan $$stack $$opt --json build/plan-$$plan.json > /dev/null || exit 1; \
	  $(PY) -m hubctl policy --plan build/plan-$$plan.json || status=1; \
	done; exit $$status

scan: $(STAMP) $(CHECKOV_STAMP)  ## checkov over every stack's manifests, actionlint over the workflows
	@for plan in $(PLANS); do \
	  stack=$${plan%-*}; cloud=$${plan#*-}; \
	  if [ "$$cloud" = kind ]; then opt=""; else opt="--cloud $$cloud"; fi; \
	  $(PY) -m hubctl render $$stack $$opt --out build/manifests-$$plan > /dev/null || exit 1; \
	done
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml $(foreach plan,$(PLANS),-d build/manifests-$(plan))
	$(VENV)/bin/actionlint -ignore 'runtime "node20" is deprecated'
