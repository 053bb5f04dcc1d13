# Two entry points on a fresh machine (Python 3.11 + pip):
#   make run    set up .venv and run the embedded default experiment (2 cores, CPU)
#   make test   set up .venv and run the test suite
#   make test-fast   the suite without the end-to-end and SLURM tests (the edit loop)
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2
export PATH := $(abspath $(BIN)):$(PATH)
# Local runs never talk to SLURM, but the SLURM executor plugin runs `scontrol show config` when
# Snakemake loads it, at every start: where SLURM's client is installed and no controller answers
# (this project's machines between SLURM tests, CI), that waits about 9 s. An unreadable client
# config makes scontrol fail at once; cluster runs (`--profile slurm`) are started without it.
LOCAL_RUN := SLURM_CONF=/dev/null

.PHONY: setup run test test-fast lint report clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and pinned: these releases install from the local disk here (a CUDA build that runs on the CPU).
	$(BIN)/pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install --quiet -e '.[test,slurm]'
	touch $@

run: setup
	@start=$$(date +%s); \
	$(LOCAL_RUN) snakemake --cores $(CORES) && \
	echo "default run finished in $$(( $$(date +%s) - start )) s; see results/metrics.csv and results/figures/"

test: setup lint
	pytest -q

test-fast: setup
	pytest -q -m "not e2e and not slurm"

# Python lint and formatting (ruff), the type checker on the package (mypy; settings of both in
# pyproject.toml) and Snakemake's own workflow lint.
lint: setup
	ruff check src scripts tests
	ruff format --check src scripts tests
	mypy
	$(LOCAL_RUN) snakemake --lint

report: setup
	$(LOCAL_RUN) snakemake --cores $(CORES) --report results/report.html

clean:
	rm -rf results/* .snakemake
