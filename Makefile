# The two commands a newcomer needs: `make up` runs the system, `make test` runs every test.
# Both create .venv and install the project into it first (nothing else needs installing).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install up test test-slow bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

up: $(STAMP)
	$(BIN)/recruit up $(ARGS)

test: $(STAMP)
	$(BIN)/pytest $(ARGS)

test-slow: $(STAMP)
	$(BIN)/pytest -m slow $(ARGS)

bench: $(STAMP)
	for script in bench/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
