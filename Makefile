# The two commands a newcomer needs: `make up` runs the system, `make test` runs every test.
# Both create .venv and install the project into it first (nothing else needs installing).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The official AsyncAPI parser tests/contract runs, installed by npm from its committed lock file
# (where npm exists: without node those tests skip and say so).
PARSER := tests/contract/node/node_modules/.package-lock.json

.PHONY: install up test test-slow bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

$(PARSER): tests/contract/node/package-lock.json
	if command -v npm >/dev/null; then npm ci --ignore-scripts --no-audit --no-fund --prefix tests/contract/node; fi

install: $(STAMP)

up: $(STAMP)
	$(BIN)/recruit up $(ARGS)

test: $(STAMP) $(PARSER)
	$(BIN)/pytest $(ARGS)

test-slow: $(STAMP)
	$(BIN)/pytest -m slow $(ARGS)

bench: $(STAMP)
	for script in bench/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
