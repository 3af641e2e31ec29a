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
TRAIN_STEPS ?= 1500

.PHONY: install build-m3w build-pairs test bench bench-quality train eval clean

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

build-pairs: $(STAMP)
	$(PY) -m pipelines.pairs --source align --output out/align $(ARGS)
	$(PY) -m pipelines.pairs --source ltip --output out/ltip $(ARGS)
	$(PY) -m pipelines.pairs --source vtp --output out/vtp $(ARGS)

# Trains the tiny Flamingo on the output of build-m3w, then prints held-out loss and the
# visual-conditioning gain (loss with shuffled images minus loss with the true ones).
train: $(STAMP)
	test -f $(OUTPUT)/dataset.json || $(MAKE) build-m3w
	$(PY) -m model.train --data m3w=$(OUTPUT):1.0 --config tiny --steps $(TRAIN_STEPS) --lr 5e-3 --warmup 50 \
		--batch-size 8 --gate-lr-mult 10 --perceiver-lr-mult 0.2 --threads 2 --out $(TRAIN_OUT)
	$(PY) -m model.eval --data m3w=$(OUTPUT) --ckpt $(TRAIN_OUT) --threads 2

test: $(STAMP)
	NO_GCE_CHECK=True $(PY) -m pytest -q

# Main-content quality on ../shared/data/html against Trafilatura (a bench-only dependency).
bench-quality: $(STAMP)
	$(PY) -c "import trafilatura" 2>/dev/null || $(PY) -m pip install --quiet "trafilatura>=2.0"
	PYTHONPATH=. $(PY) bench/bench_extract_quality.py

bench: $(STAMP) bench-quality
	$(PY) bench/bench_extract.py
	$(PY) bench/bench_pipeline.py
	$(PY) bench/bench_media.py
	$(PY) bench/bench_quality.py
	$(PY) bench/bench_pairs.py
	PYTHONPATH=. $(PY) bench/bench_model.py

clean:
	rm -rf out .pytest_cache
