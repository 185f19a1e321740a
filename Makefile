# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLES := minimal boto3_client heavy_deps lazy_deps
PYTEST_ARGS ?=
# The demo sweep's emulator keeps its logs here, apart from any other emulator's.
DEMO_LOGS := $(VENV)/demo-emulator-logs

.PHONY: demo test test-python corpus lint bench calibrate clean bytecode

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip

# The project itself; re-installed when pyproject.toml changes.
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

# The plot extra (matplotlib), for the demo's HTML charts: without it a fresh demo's pages would
# differ from the committed ones.
$(VENV)/.installed-plot: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[plot]'
	touch $@

# The test extra on top.
$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

# An editable install runs coldprof from src/, where nothing has compiled it when
# PYTHONDONTWRITEBYTECODE is set (it is on some CI machines): every command would then recompile
# its modules, about 100 ms a run. pip gives users compiled files; this gives them to src/.
bytecode: $(VENV)/.installed
	@$(BIN)/python -m compileall -q src/coldprof > /dev/null

# The main job on the sample functions, with no AWS account: an analyze of each, a sweep on the
# local emulator, an audit of lazy_deps against heavy_deps, and the sweep's cold starts read back
# from the logs the emulator kept. Writes reports/, whose files name paths relative to the
# repository (run from here) and never this machine's.
demo: $(VENV)/.installed-plot bytecode
	@mkdir -p reports
	@for fn in $(SAMPLES); do \
		echo "== coldprof analyze sample_functions/$$fn"; \
		$(BIN)/coldprof analyze sample_functions/$$fn --output reports/analyze-$$fn.json || exit $$?; \
		$(BIN)/coldprof report reports/analyze-$$fn.json --output reports/analyze-$$fn.txt -q || exit $$?; \
		$(BIN)/coldprof report reports/analyze-$$fn.json --output reports/analyze-$$fn.md -q || exit $$?; \
	done
	$(BIN)/coldprof report reports/analyze-heavy_deps.json --output reports/analyze-heavy_deps.html -q
	$(BIN)/coldprof report reports/analyze-heavy_deps.json --output reports/analyze-heavy_deps.speedscope.json -q
	@echo "== coldprof remote sample_functions/* --local (the sweep on the local emulator)"
	@rm -rf $(DEMO_LOGS)
	COLDPROF_EMULATOR_LOGS=$(DEMO_LOGS) $(BIN)/coldprof remote $(addprefix sample_functions/,$(SAMPLES)) --local --memory 128,512,1769 --samples 3 --yes \
		--output reports/remote-local.json
	$(BIN)/coldprof report reports/remote-local.json --output reports/remote-local.txt -q
	$(BIN)/coldprof report reports/remote-local.json --output reports/remote-local.md -q
	$(BIN)/coldprof report reports/remote-local.json --output reports/remote-local.html -q
	@echo "== coldprof audit sample_functions/lazy_deps --baseline reports/analyze-heavy_deps.json"
	@$(BIN)/coldprof audit sample_functions/lazy_deps --baseline reports/analyze-heavy_deps.json \
		--output reports/audit-lazy_deps-vs-heavy_deps.json; \
		status=$$?; [ $$status -le 1 ] || exit $$status
	$(BIN)/coldprof report reports/audit-lazy_deps-vs-heavy_deps.json --output reports/audit-lazy_deps-vs-heavy_deps.txt -q
	$(BIN)/coldprof report reports/audit-lazy_deps-vs-heavy_deps.json --output reports/audit-lazy_deps-vs-heavy_deps.md -q
	@echo "== coldprof logs --local (the sweep's invocations, read back from the logs the emulator kept)"
	COLDPROF_EMULATOR_LOGS=$(DEMO_LOGS) $(BIN)/coldprof logs --local \
		--output reports/logs-local.json
	$(BIN)/coldprof report reports/logs-local.json --output reports/logs-local.txt -q
	$(BIN)/coldprof report reports/logs-local.json --output reports/logs-local.html -q
	@echo
	@cat reports/analyze-heavy_deps.txt
	@echo
	@cat reports/audit-lazy_deps-vs-heavy_deps.txt
	@echo
	@cat reports/logs-local.txt

test: $(VENV)/.installed-test bytecode
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Real stacks (Flask, FastAPI, Django, pandas, scikit-learn...) built and analyzed by the CLI,
# with the invariants checked on each. Builds are cached in .cache/corpus.
corpus: $(VENV)/.installed-test bytecode
	$(BIN)/python -m pytest $(PYTEST_ARGS) tests/corpus

# The measurement path again under another interpreter (Lambda's Python runtimes reach 3.14), in a
# venv of its own: `make test-python PY=python3.12`. The advisor traces with sys.monitoring from
# 3.12 on.
PY ?= python3.12
PY_VENV = .venv-$(notdir $(PY))
PY_TESTS ?= tests/unit tests/integration/test_analyze.py tests/integration/test_advisor.py \
	tests/integration/test_environment.py tests/integration/test_importtime.py \
	tests/integration/test_function_lines.py tests/integration/test_child_scripts.py
test-python:
	@[ -x $(PY_VENV)/bin/python ] || $(PY) -m venv $(PY_VENV)
	$(PY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@$(PY_VENV)/bin/python -m compileall -q src/coldprof > /dev/null
	$(PY_VENV)/bin/python -m pytest $(PYTEST_ARGS) $(PY_TESTS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

bench: $(VENV)/.installed-test bytecode
	$(BIN)/python benchmarks/run.py --output reports/benchmarks.md

# Rebuild the published Lambda functions (reports/calibration.md lists them), analyze each here
# and refit the Lambda init estimate: writes src/coldprof/estimate/data/lambda_model.json and the report.
# Downloads about 400 MB of wheels the first time (into .cache/wheels).
calibrate: $(VENV)/.installed bytecode
	$(BIN)/python benchmarks/calibrate.py

clean:
	rm -rf $(VENV) .venv-python3.* .pytest_cache .mypy_cache .ruff_cache
