#!/usr/bin/env bash
# Snakemake runs this once in a freshly created rule environment (`--sdm conda`, envs/NAME.yaml beside
# NAME.post-deploy.sh; the other two are links to this file). It installs the relabelgan package
# without its dependencies, so the environment holds exactly what its yaml lists and each rule group
# gets only what it imports (tests/test_envs.py checks that on the steps' real code paths).
# Snakemake runs it from the workflow's working directory: the repository root, as README.md runs it;
# from elsewhere (snakemake --directory), set RELABELGAN_SRC to the repository.
set -euo pipefail
root="${RELABELGAN_SRC:-$PWD}"
if ! grep -qs '^name = "relabelgan"' "$root/pyproject.toml"; then
    echo "relabelgan env post-deploy: $root/pyproject.toml is not relabelgan's; run snakemake from the repository root or set RELABELGAN_SRC=/path/to/relabelgan" >&2
    exit 2
fi
python -m pip install --no-deps -e "$root"
