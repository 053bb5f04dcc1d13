# Config loading and validation, paths, and the input functions every stage uses.
import json

from relabelgan.config import resolve_config, run_spec
from relabelgan.methods import get_method

# Merges `defaults` into every run and validates against workflow/schemas/config.schema.yaml
# (through snakemake.utils.validate); a bad key or value stops here with its key path.
config.update(resolve_config(config, "config"))

RESULTS = config["results"]
RUNS = sorted(config["runs"])
SEEDS = [int(s) for s in config["seeds"]]
RUN_DIR = RESULTS + "/{run}/seed{seed}"
ROUND_DIR = RUN_DIR + "/round_{r}"
LOGS = RESULTS + "/logs/{run}/seed{seed}"
BENCH = RESULTS + "/benchmarks/{run}/seed{seed}"
DATASETS = sorted({config["runs"][run]["dataset"] for run in RUNS})
GPU = config["resources"]["gpu_rules"]
CPU = config["resources"]["cpu_rules"]


wildcard_constraints:
    run="|".join(RUNS),
    seed=r"\d+",
    r=r"\d\d",
    dataset="|".join(DATASETS),


def rounds(run):
    return int(config["runs"][run]["rounds"])


def method(run):
    return get_method(config["runs"][run]["method"])


def rr(r):
    """Round number as it appears in paths."""
    return f"{int(r):02d}"


def spec_json(wildcards):
    return json.dumps(run_spec(config, wildcards.run, int(wildcards.seed)), sort_keys=True)


def relabel_inputs(wildcards):
    inputs = {"spec": RUN_DIR.format(**wildcards) + "/run.yaml"}
    # Features only for rounds that cluster (splitting: its split rounds).
    if method(wildcards.run).relabels_at(config["runs"][wildcards.run], int(wildcards.r)):
        inputs["features"] = ROUND_DIR.format(**wildcards) + "/features.h5"
    if int(wildcards.r) > 0:
        inputs["previous"] = RUN_DIR.format(**wildcards) + f"/round_{rr(int(wildcards.r) - 1)}/labels.h5"
    if method(wildcards.run).clusterer:  # slcgan: labels = argmax of the round model's clustering network
        inputs["model"] = ROUND_DIR.format(**wildcards) + "/model.pt"
    return inputs


def relabel_flags(wildcards, input):
    flags = f"--features {input.features}" if "features" in input.keys() else ""
    if "previous" in input.keys():
        flags += f" --previous {input.previous}"
    if "model" in input.keys():
        flags += f" --model {input.model}"
    return flags


def round_paths(run, seed, name, first=0):
    return [RUN_DIR.format(run=run, seed=seed) + f"/round_{rr(r)}/{name}" for r in range(first, rounds(run) + 1)]


def run_metric_files(run, seed):
    return round_paths(run, seed, "metrics.csv")


def all_targets():
    targets = [RESULTS + "/metrics.csv"]
    targets += expand(RESULTS + "/figures/metrics_{dataset}.png", dataset=DATASETS)
    for run in RUNS:
        for seed in SEEDS:
            targets += round_paths(run, seed, "labels.h5")
            targets += round_paths(run, seed, "samples.png", first=1)
    return targets
