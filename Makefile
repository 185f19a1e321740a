# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLES := minimal boto3_client heavy_deps lazy_deps
PYTEST_ARGS ?=

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip

# The project itself; re-installed when pyproject.toml changes.
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

# The test extra on top.
$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	@mkdir -p reports
	@for fn in $(SAMPLES); do \
		echo "== coldprof analyze sample_functions/$$fn"; \
		$(BIN)/coldprof analyze sample_functions/$$fn --format json --output reports/analyze-$$fn.json > reports/analyze-$$fn.txt || exit $$?; \
		$(BIN)/coldprof report reports/analyze-$$fn.json --format markdown --output reports/analyze-$$fn.md > /dev/null || exit $$?; \
	done
	@echo
	@cat reports/analyze-heavy_deps.txt

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/run.py --output reports/benchmarks.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
