# Thin wrappers; the README shows the plain commands.
PYTHON ?= python3
VENV ?= .venv
DATA ?= commons-data
BIN := $(VENV)/bin

.PHONY: run test install install-test lint security bench clean translations

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

# bandit must be clean at medium severity and above (accepted findings carry a `# nosec` with the reason).
# pip-audit needs PyPI's vulnerability service: where it cannot be reached, it says so and does not fail.
security: install-test
	$(BIN)/bandit -q -r commons -ll
	-timeout 120 $(BIN)/pip-audit --skip-editable --progress-spinner off

# Extract the interface strings, update both catalogues, compile them (the .mo files are committed).
translations: install-test
	$(BIN)/pybabel --quiet extract --no-location -F babel.cfg -k _l -k N_ -o commons/translations/messages.pot .
	$(BIN)/pybabel --quiet update -i commons/translations/messages.pot -d commons/translations
	$(BIN)/pybabel --quiet compile -d commons/translations

bench: install-test
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache build dist *.egg-info
