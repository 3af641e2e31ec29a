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
# Common Crawl input: the first CC_FILES WARCs of crawl CC_CRAWL's warc.paths.gz (from CC_LISTING),
# read from CC_BASE (https:// anonymous, or s3://commoncrawl/ with AWS credentials).
CC_CRAWL ?=
CC_FILES ?= 1
CC_BASE ?= https://data.commoncrawl.org/
CC_LISTING ?= https://data.commoncrawl.org/
CC_LIST = out/cc-$(CC_CRAWL)-$(CC_FILES).txt
TRAIN_OUT ?= out/train
TRAIN_STEPS ?= 1500

.PHONY: install build-m3w build-pairs test fuzz bench bench-scale train eval clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[model,gcp,aws,test]"
	# OpenFlamingo's MMC4 loader, read by tests/test_mmc4_export.py (its model dependencies are not needed)
	$(PY) -m pip install --quiet --no-deps "open-flamingo==2.0.1"
	touch $(STAMP)

install: $(STAMP)

build-m3w: $(STAMP)
	$(if $(CC_CRAWL),mkdir -p out && $(PY) -m m3w_builder.read.commoncrawl $(CC_CRAWL) --files $(CC_FILES) \
		--base $(CC_BASE) --listing_base $(CC_LISTING) > $(CC_LIST).tmp && mv $(CC_LIST).tmp $(CC_LIST) \
		|| { rm -f $(CC_LIST).tmp; exit 1; })
	NO_GCE_CHECK=True $(PY) -m pipelines.m3w --output $(if $(filter DataflowRunner,$(RUNNER)),$(BUCKET)/m3w,$(OUTPUT)) \
		$(foreach i,$(INPUT),--input $(i)) $(if $(CC_CRAWL),$$(sed 's/^/--input /' $(CC_LIST))) \
		--runner=$(RUNNER) $(DATAFLOW_ARGS) $(ARGS)

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

# Seeded fuzzing of the real files in ../shared/data (images, videos, WARCs, pages) and hostile
# pages, each target in a memory-limited subprocess; exits 1 on any crash, hang or memory hit.
FUZZ_COUNT ?= 2000
fuzz: $(STAMP)
	PYTHONPATH=. $(PY) -m tests.fuzz --count $(FUZZ_COUNT) $(ARGS)

bench: $(STAMP)
	$(PY) bench/bench_extract.py
	$(PY) bench/bench_pipeline.py
	$(PY) bench/bench_media.py
	$(PY) bench/bench_quality.py
	$(PY) bench/bench_pairs.py
	PYTHONPATH=. $(PY) bench/bench_model.py

# The job at 1k, 4k, 16k, 64k pages made from ../shared/data (FAST=1: 1k only; SCALE_SIZES=1000,4000).
bench-scale: $(STAMP)
	PYTHONPATH=. NO_GCE_CHECK=True $(PY) bench/bench_scale.py $(if $(FAST),--fast) $(if $(SCALE_SIZES),--sizes $(SCALE_SIZES))

clean:
	rm -rf out .pytest_cache
