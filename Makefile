# Two entry points (see README.md): `make plan` and `make test`. Both create the virtualenv on
# first use; nothing needs to be installed by hand beyond Python 3.11 and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STACK ?= dev

.PHONY: plan test lint typecheck unit render bench clean

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

unit: $(STAMP)
	$(PY) -m pytest -n 2 -q

test: lint typecheck unit  ## everything CI runs

bench: $(STAMP)
	$(PY) scripts/benchmark.py

clean:
	rm -rf build .mypy_cache .pytest_cache .ruff_cache
