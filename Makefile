# make demo : set up .venv and run the RNN vs LSTM vs GRU demo (no download)
# make test : set up .venv and run the test suite, lint and type checks
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench gpu-check clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch pinned to the CPU build on this machine's disk (a looser spec pulls a CUDA build)
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/rnnkit demo

test: $(STAMP)
	$(BIN)/python -m pytest -q
	$(MAKE) --no-print-directory lint typecheck

lint: $(STAMP)
	$(BIN)/ruff check --no-cache src tests benchmarks
	$(BIN)/ruff format --no-cache --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/rnnkit bench

# On a machine with a CUDA GPU whose python3 already has torch and triton (no .venv there): the
# benchmark rows issue 5's GPU goals are read from (H 512, T 256, batch 1/8/64, fp32 and bf16),
# the Triton kernels checked at full sizes, then the persistent kernels timed on their own (their
# grid barrier is the one part that could hang), written to $$OUT or benchmarks/results. Each
# part has its own time limit and runs whatever the one before did; the exit status is the
# last failure's. Under 10 minutes in all (the device tool's limit per command).
GPU_BENCH := --device=cuda --batch=1,8,64 --hidden=512 --steps=256 --repeats=10 --warmup=3 \
	--configs=lstm,lstm-peephole,gru,gru-reset-before --variants=loop,fused,native
GPU_PERSISTENT_BENCH := --device=cuda --batch=1,8 --hidden=512 --steps=256 --repeats=10 \
	--warmup=3 --modes=forward --dtypes=fp32 --configs=lstm,gru --variants=fused,native,persistent
GPU_OUT = $${OUT:-benchmarks/results}
gpu-check:
	status=0; export PYTHONPATH=src PYTHONUNBUFFERED=1; \
	timeout 240 python3 -m rnnkit bench $(GPU_BENCH) --out $(GPU_OUT) || status=$$?; \
	timeout 200 python3 -m pytest -v -p no:cacheprovider tests/ops/gpu || status=$$?; \
	timeout 120 python3 -m rnnkit bench $(GPU_PERSISTENT_BENCH) --out $(GPU_OUT)/persistent \
		|| status=$$?; \
	exit $$status

clean:
	rm -rf $(VENV) build src/*.egg-info
