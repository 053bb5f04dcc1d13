#!/usr/bin/env bash
# The GPU check in one command (docs/performance.md, "GPU check"): the CUDA-only tests, a CIFAR-shaped
# selfcond run and a class-splitting run under bf16 autocast + channels-last with 50,000-image
# extractions, the WGAN-GP gradient penalty under bf16, and scripts/benchmark.py --gpu, all written
# under one folder. About 5 minutes at most on one H100/H200.
#
#   scripts/gpu_check.sh [--out DIR]      DIR defaults to $OUT when set, else ./gpu_check_out
#   scripts/gpu_check.sh --rehearse-on-cpu --out DIR   the same steps at tiny sizes on the CPU (checks the script)
#
# Runs from the source tree (PYTHONPATH=src), no install and no network: $PYTHON (default python3)
# must import torch and the project's packages (pytest for the CUDA tests; cuML optional).
# Exit status: 0 every step passed; 1 a step failed ("GPU CHECK FAILED: ..." says which; summary.txt);
# 2 no CUDA GPU (one line, nothing written).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PYTHONPATH="$repo/src${PYTHONPATH:+:$PYTHONPATH}"
exec "${PYTHON:-python3}" "$repo/scripts/gpu_check.py" "$@"
