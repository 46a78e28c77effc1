# Two entry points for a fresh machine: `make demo` (the whole loop on data the project
# makes itself, or data/training_set.npz when present) and `make test`. Each creates
# .venv and installs the server's pinned runtime from constraints.txt on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# harness/__init__.py holds the version, which the installed metadata copies.
$(BIN)/harness: pyproject.toml constraints.txt harness/__init__.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[cpu,dev]"
	touch $@

.PHONY: install demo test
install: $(BIN)/harness

demo: install
	$(BIN)/harness demo

test: install
	$(BIN)/python -m pytest -q -n 2 --dist worksteal
