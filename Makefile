# m3w-builder: one command builds the M3W dataset from the embedded sample, one runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU wheel; an unpinned torch pulls a multi-GB CUDA build. Override for GPU machines.
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.installed

RUNNER ?= FnApiRunner
OUTPUT ?= out/m3w
INPUT ?=
PROJECT ?=
REGION ?=
BUCKET ?=
ARGS ?=
DATAFLOW_ARGS = $(if $(filter DataflowRunner,$(RUNNER)),--project=$(PROJECT) --region=$(REGION) \
	--temp_location=$(BUCKET)/tmp --staging_location=$(BUCKET)/staging --setup_file=./setup.py)
TRAIN_OUT ?= out/train

.PHONY: install build-m3w test bench train eval clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[model,gcp,test]"
	touch $(STAMP)

install: $(STAMP)

build-m3w: $(STAMP)
	NO_GCE_CHECK=True $(PY) -m pipelines.m3w --output $(if $(filter DataflowRunner,$(RUNNER)),$(BUCKET)/m3w,$(OUTPUT)) \
		$(foreach i,$(INPUT),--input $(i)) --runner=$(RUNNER) $(DATAFLOW_ARGS) $(ARGS)

test: $(STAMP)
	NO_GCE_CHECK=True $(PY) -m pytest -q

bench: $(STAMP)
	$(PY) bench/bench_extract.py
	$(PY) bench/bench_pipeline.py

clean:
	rm -rf out .pytest_cache
