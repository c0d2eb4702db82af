# carepath — the commands a new user runs. See README.md.
#   make demo   set up, start the embedded PostgreSQL, migrate, load and simulate the synthetic cohort
#   make test   set up, then lint, type-check (mypy strict over pathways, models, flows, carepath), and run the whole test suite

SHELL       := /bin/bash
.SHELLFLAGS := -o pipefail -c

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.9
# The stamp changes when the dependency files change, so a second run installs nothing.
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt 2>/dev/null | cksum | cut -d' ' -f1)

.PHONY: install browser demo test check lint typecheck pytest serve bench bench-start bench-web bench-adherence fault-test constraints clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "carepath needs Python 3.11 or newer")'
	@test -x $(BIN)/python || { echo "creating the virtual environment $(VENV) ..."; $(PYTHON) -m venv $(VENV); }
	@# uv installs the pinned set in seconds where pip takes minutes; constraints.txt stays
	@# the one pin list (uv itself is pinned here, the only package pip installs).
	@test -x $(BIN)/uv || { echo "installing uv $(UV_VERSION) ..."; \
	  $(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION) 2>&1 \
	  | { grep -v "^WARNING: Location 'file://.*' is ignored: it is neither a file nor a directory" || true; }; }
	@echo "installing carepath and its pinned dependencies into $(VENV) with uv ..."
	@# Compiled once here: where PYTHONDONTWRITEBYTECODE is set (these machines), Python
	@# would otherwise compile every module on every start (`carepath serve` took 5 s more).
	@$(BIN)/uv pip install --python $(BIN)/python -c constraints.txt -e '.[dev]' --compile-bytecode
	@$(BIN)/python -m compileall -q -j 0 carepath flows models pathways migrations > /dev/null
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

# The browser tests drive the system Chromium (Debian package); installed when missing.
browser:
	@bash tools/ensure_chromium.sh

demo: install
	@$(BIN)/carepath demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install browser
	$(BIN)/pytest

check: lint typecheck

test: install browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

serve: install
	$(BIN)/carepath serve

# The pure engine on one core (plan_tasks and evaluate() per second), then plan_care
# over 100,000 synthetic patients: cold plan, unchanged re-plan, Prefect's share, memory.
bench: install
	$(BIN)/python bench/engine_plan.py
	$(BIN)/python bench/plan_care_100k.py

# Seconds from `carepath serve` to the sign-in page's first 200, fresh installations.
bench-start: install
	$(BIN)/python bench/serve_start.py

# Queue page and task-list API latency with 10,000 patients and their tasks (loopback only).
bench-web: install
	@bash tools/ensure_wrk.sh
	$(BIN)/python bench/web_load.py

# The full adherence report over a synthetic history of 100,000 patients (COPY-loaded).
bench-adherence: install
	$(BIN)/python bench/adherence_100k.py

# Crash recovery, measured: the dispatcher SIGKILLed 200 times mid-batch, PostgreSQL
# restarted 10 times mid-plan (tests/faults); prints the figures of the README.
fault-test: install
	$(BIN)/python -m tests.faults --kills 200 --restarts 10

constraints: install
	@{ echo "# Exact versions known to work together on these machines (uv pip install -c constraints.txt)."; \
	   echo "# Regenerate with: make constraints"; \
	   $(BIN)/uv pip freeze --python $(BIN)/python --exclude-editable | grep -v '^carepath' | grep -v '^uv=='; } > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
