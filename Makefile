# Pruning limits: the two commands are `make book` and `make test`; both create .venv on first use.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.pnlib-installed
JOBS ?= 2
LINT_DIRS := $(wildcard pnlib tests benchmarks)
# pip prints one line per package missing from the machine's local indexes; drop that noise only
PIPFILTER := { grep -v "is ignored: it is neither a file nor a directory" || true; }

export PYTHONUNBUFFERED := 1

.PHONY: help install book test lint unit slow route notebooks browser bench gpu-check experiment exercises clean

help:
	@echo "make book                  execute every chapter and write the HTML book to _build/html"
	@echo "make test                  lint, unit tests and doctests, notebook pipeline, book, browser check"
	@echo "make experiment NAME=task  run experiments/<task>.yaml through papermill (see experiments/)"
	@echo "  ... SMOKE=1              the same at smoke size: minutes on a CPU, recorded as run smoke"
	@echo "make bench                 benchmarks; ratios go to benchmarks/results/"
	@echo "make gpu-check             on one CUDA GPU: pytest -m gpu, ResNet18 benchmarks, a paper task (< 8 min)"
	@echo "make clean                 remove _build (the venv stays)"

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --progress-bar off -r requirements.txt 2>&1 | $(PIPFILTER)
	$(PY) -m pip install -q --progress-bar off --no-deps --no-build-isolation -e . 2>&1 | $(PIPFILTER)
	$(PY) -m pip check
	@touch $@

book: install
	$(PY) -m pnlib.runner book

lint: install
	$(PY) -m ruff format --check $(LINT_DIRS)
	$(PY) -m ruff check $(LINT_DIRS)
	$(PY) -m pnlib.runner check-sources

# a plain `pytest` runs these fast tests on one worker per core (pyproject addopts); the
# targets below name their markers with -m, which replaces the default selection
unit: install
	OMP_NUM_THREADS=1 $(PY) -m pytest -m "not notebooks and not browser and not route and not slow" -n $(JOBS) -q

# end-to-end runs of the pipeline, the benchmarks and the GPU check's CPU dry run
slow: install
	OMP_NUM_THREADS=1 $(PY) -m pytest -m "slow and not notebooks and not browser and not route" -n $(JOBS) -q

# every model and dataset of the paper through `python -m pnlib.runner experiment <task> --smoke`
route: install
	OMP_NUM_THREADS=1 $(PY) -m pytest -m route -n $(JOBS) -q tests

# Stage 1 executes every TOC notebook with papermill (default = CI-sized parameters) into
# _build/nbval; stage 2 re-executes those copies with nbval and compares the checked cells.
notebooks: install
	OMP_NUM_THREADS=1 $(PY) -m pnlib.runner execute-toc --out _build/nbval --jobs $(JOBS)
	OMP_NUM_THREADS=1 $(PY) -m pytest -p no:cacheprovider -q -n $(JOBS) --dist loadfile \
	  --nbval-lax --nbval-current-env --nbval-sanitize-with nbval_sanitize.cfg \
	  --rootdir _build/nbval -c /dev/null _build/nbval/*.ipynb
	OMP_NUM_THREADS=1 $(PY) -m pytest -m notebooks -n 0 -q tests

browser: install
	$(PY) -m pytest -m browser -n 0 -q tests

test: lint unit slow route notebooks
	$(PY) -m pnlib.runner seed-cache _build/nbval
	$(MAKE) book
	$(MAKE) browser

# SMOKE=1: every size shrunk so that any task runs in minutes on a CPU (recorded as run "smoke")
experiment: install
	@test -n "$(NAME)" || { echo "usage: make experiment NAME=<task> [SMOKE=1]; tasks: $$(ls experiments | sed 's/\.yaml//' | tr '\n' ' ')"; exit 2; }
	$(PY) -m pnlib.runner experiment $(NAME)$(if $(filter 1 yes true,$(SMOKE)), --smoke,)

bench: install
	$(PY) -m pnlib.runner bench

# GPU_CHECK_ARGS="--cpu-dry-run" checks the script on a CPU; see benchmarks/gpu_check.py
gpu-check: install
	$(PY) benchmarks/gpu_check.py $(GPU_CHECK_ARGS)

exercises: install
	$(PY) -m pnlib.runner exercises

clean:
	rm -rf _build figures
