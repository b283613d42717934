# trustbench: the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# Exactly this torch: a CPU wheel of it is available locally; other versions pull CUDA builds.
TORCH  := torch==2.13.0

.PHONY: demo test test-fast lint bench install install-dev clean

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	touch $@

$(VENV)/.installed: $(VENV)/.created pyproject.toml
	$(PIP) install --quiet $(TORCH)
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(PIP) install --quiet $(TORCH) -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## Train the demo CNN on built-in digits (cached), scan it, print the scorecard.
demo: $(VENV)/.installed
	$(VENV)/bin/trustbench demo

## Lint and run the test suite and the docstring examples under src/.
test: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check src tests benchmarks examples conftest.py
	@bash scripts/install_browser.sh || echo "warning: no headless Chromium; the HTML report's browser test will be skipped"
	bash scripts/postgres.sh install
	TRUSTBENCH_REQUIRE_SERVERS=1 $(VENV)/bin/pytest -q --durations=15

## The edit-test loop: lint and the suite without the slow end-to-end tier.
test-fast: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check src tests benchmarks examples conftest.py
	$(VENV)/bin/pytest -q -m "not slow" --durations=10

## Attacks vs torchattacks and ART in their own venv (.bench-venv); ~18 min. Results: docs/benchmarks.md
bench:
	bash benchmarks/setup_env.sh
	.bench-venv/bin/python benchmarks/attacks.py
	.bench-venv/bin/python benchmarks/standard_vs_pgd.py

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check src tests benchmarks examples conftest.py

clean:
	rm -rf $(VENV) .bench-venv .pytest_cache .ruff_cache build dist src/*.egg-info trustbench-report
