# Thin wrappers; the README shows the plain commands.
PYTHON ?= python3
VENV ?= .venv
DATA ?= commons-data
BIN := $(VENV)/bin

.PHONY: run test install install-test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e .

install-test: $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'

run: install
	@test -e $(DATA)/repo.git || $(BIN)/commons --data $(DATA) init --demo
	$(BIN)/commons --data $(DATA) serve --host 127.0.0.1 --port 8000

test: install-test
	$(BIN)/python -m pytest -q

lint: install-test
	$(BIN)/ruff check commons tests benchmarks
	$(BIN)/mypy commons

bench: install-test
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache build dist *.egg-info
