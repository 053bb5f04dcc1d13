# Config loading and validation, paths, and the input functions every stage uses.
import functools
import json
import os

from relabelgan.core.config import BOOKKEEPING_ENV, bookkeeping_env, evaluator_settings_for, resolve_config, run_spec
from relabelgan.core.config import stage_keys, stage_settings
from relabelgan.core.errors import ArtifactError
from relabelgan.core.metrics_record import changed_settings
from relabelgan.data.registry import has_evaluator as kind_has_evaluator
from relabelgan.data.registry import holds_images
from relabelgan.methods import get_method
from relabelgan.metrics.inception import REFERENCE_STATS_NAME

# Merges `defaults` into every run and validates against workflow/schemas/config.schema.yaml
# (through snakemake.utils.validate); a bad key or value stops here with its file and key path.
CONFIG_FILES = ", ".join(str(f) for f in workflow.overwrite_configfiles or ["config.yaml"])
config.update(resolve_config(config, CONFIG_FILES))

RESULTS = config["results"]
RUNS = sorted(config["runs"])
SEEDS = [int(s) for s in config["seeds"]]
DATASETS = sorted({config["runs"][run]["dataset"] for run in RUNS})
GPU = config["resources"]["gpu_rules"]
CPU = config["resources"]["cpu_rules"]


def results_path(name):
    """A path under the results folder."""
    return f"{RESULTS}/{name}"


def run_path(name, run="{run}", seed="{seed}"):
    """A file of one run and seed (wildcards by default)."""
    return results_path(f"{run}/seed{seed}/{name}")


def round_path(name, r="{r}", run="{run}", seed="{seed}"):
    """A file of one round of a run."""
    return run_path(f"round_{r}/{name}", run, seed)


def previous_round_path(wildcards, name):
    """The same file one round earlier than the job's round."""
    return round_path(name, rr(int(wildcards.r) - 1), wildcards.run, wildcards.seed)


def log_path(name):
    return results_path(f"logs/{{run}}/seed{{seed}}/{name}")


def bench_path(name):
    return results_path(f"benchmarks/{{run}}/seed{{seed}}/{name}")


def rounds(run):
    return int(config["runs"][run]["rounds"])


def method(run):
    return get_method(config["runs"][run]["method"])


def phases_ahead(wildcards):
    """Scheduling priority of a run's init, phase and relabel jobs: the rounds of its run after this
    job's round (init: all of them and round 0). Snakemake starts the ready job of highest priority first, so the runs with the
    most work left start first and the last minutes are not one run's phases in a row on one core
    while the other waits (docs/performance.md, "The default config, end to end")."""
    r = int(getattr(wildcards, "r", -1))  # init (no r) comes before round 0
    return rounds(wildcards.run) - r


def rr(r):
    """Round number as it appears in paths."""
    return f"{int(r):02d}"


@functools.cache
def resolved_spec(run, seed):
    """The run's spec as run.yaml holds it (no bookkeeping keys); callers must not change it."""
    return run_spec(config, run, int(seed), bookkeeping=False)


def spec_json(wildcards):
    """run.yaml's content: the run's keys without the bookkeeping ones, so editing those reruns nothing."""
    return json.dumps(resolved_spec(wildcards.run, wildcards.seed), sort_keys=True)


def spec_param(wildcards, input):
    """The run's resolved spec as JSON, the --spec of a job. The jobs take it as text, not as the run.yaml
    file: a job downstream of a rerun job is never checked for its own params in Snakemake 9 (the DAG
    masks it), so a rewritten run.yaml would hide what changed. Taking ``input`` makes Snakemake count
    this param as derived and leave it out of the params trigger: a job reruns for the settings its
    stage reads (stage_params), not for any edit of its run."""
    return spec_json(wildcards)


# ----------------------------------------------------------------------------- reruns as small as the change
# Every job gets the run's spec as text (spec_param), whose edits trigger nothing by themselves: run.yaml
# is written for people, and no job reads it. A job reruns when one of its params changes, and its params are the settings its stage computes from
# (relabelgan.core.config.stage_settings: train for init and the phases, relabel, metrics), one param
# per setting written "key=value", so Snakemake's reason names the key ("before: 'eval_samples=1000'
# now: 'eval_samples=2000'"). A change then reruns its stage's jobs and, through their outputs, what
# reads them: a metric setting re-evaluates the models, a k-means setting relabels and retrains the
# phases after, more rounds add phases.
STAGE_SETTING_NAMES = {
    # every key a stage's settings can hold, so the params' names are the same for every run
    "train": sorted(set(stage_keys(None)) | {"seed", "dataset_spec", "rounds"}),
    "relabel": sorted(set(stage_keys("relabel")) | {"label_source"}),
    "metrics": sorted(set(stage_keys("metrics")) | {"evaluator", "final_round"}),
    "fid": sorted(stage_keys("fid")),
}
STAGE_SETTING_NAMES["init"] = STAGE_SETTING_NAMES["train"]  # the same keys; rounds never set


def job_round(wildcards):
    """The round a job's settings are of (its r wildcard; None for a job of the whole run)."""
    r = getattr(wildcards, "r", None)
    return int(r) if r is not None else None


@functools.cache
def job_settings(stage, run, seed, rnd):
    """A job's stage settings, computed once per job rather than once per param; callers must not change it."""
    return stage_settings(resolved_spec(run, seed), stage, rnd)


def stage_setting(stage, key, wildcards):
    """One setting of the job's run as a param: "key=value", or "key=-" where its stage does not read it."""
    settings = job_settings(stage, wildcards.run, wildcards.seed, job_round(wildcards))
    return f"{key}={json.dumps(settings[key], sort_keys=True)}" if key in settings else f"{key}=-"


def _setting_param(stage, key):
    return lambda wildcards: stage_setting(stage, key, wildcards)


def stage_params(stage):
    """The params of a stage's jobs (setting_KEY=...), spliced into a rule's params with **."""
    return {f"setting_{key}": _setting_param(stage, key) for key in STAGE_SETTING_NAMES[stage]}


def metrics_record(wildcards):
    """The record round_metrics makes metrics.csv from: the one its phase (or init) wrote, unless that
    was computed under other metric settings than the config's now; then the model re-evaluated."""
    phase = round_path("phase_metrics.json", wildcards.r, wildcards.run, wildcards.seed)
    spec = resolved_spec(wildcards.run, wildcards.seed)
    try:
        stale = os.path.exists(phase) and bool(changed_settings(phase, spec, int(wildcards.r)))
    except ArtifactError:  # unreadable: remake it from the model
        stale = True
    if stale:
        return round_path("reevaluated_metrics.json", wildcards.r, wildcards.run, wildcards.seed)
    return phase


def reevaluate_inputs(wildcards):
    """A round's model, the labels it was trained on (none at round 0) and the dataset's evaluator."""
    inputs = {
        "model": round_path("model.pt", wildcards.r, wildcards.run, wildcards.seed),
        **evaluator_input(wildcards),
    }
    if int(wildcards.r) > 0:
        inputs["labels"] = labels_in_force(wildcards.run, wildcards.seed, int(wildcards.r) - 1)
    return inputs


def labels_flag(wildcards, input):
    return f"--labels {input.labels}" if "labels" in input.keys() else ""


# The bookkeeping keys (log_every, snapshot_every, progress_every) reach the jobs through the environment
# (local jobs inherit it; cluster jobs re-read this file): relabelgan.core.config.read_spec fills them in.
os.environ[BOOKKEEPING_ENV] = bookkeeping_env(config)


def relabel_inputs(wildcards):
    """The round's features.h5 (written by its phase) and, after round 0, the previous labels."""
    inputs = {
        "features": round_path("features.h5", wildcards.r, wildcards.run, wildcards.seed),
    }
    if int(wildcards.r) > 0:
        inputs["previous"] = previous_round_path(wildcards, "labels.h5")
    return inputs


def relabel_flags(wildcards, input):
    return f"--previous {input.previous}" if "previous" in input.keys() else ""


def round_paths(run, seed, name, first=0):
    return [round_path(name, rr(r), run, seed) for r in range(first, rounds(run) + 1)]


def label_rounds(run):
    """Rounds with a labels.h5 of their own: every round for methods that relabel, else round 0 only.

    Fixed-label methods (uncond, acgan, random) train every phase on round 0's labels, which
    saves a job per round that would only copy them.
    """
    return sorted({method(run).labels_round(r) for r in range(rounds(run) + 1)})


def labels_in_force(run, seed, r):
    """The labels.h5 that holds at round r: what phase r+1 trains on and round r is scored with."""
    return round_path("labels.h5", rr(method(run).labels_round(r)), run, seed)


def run_metric_files(run, seed):
    """Every round's model metrics (written by its phase) and the labels' metrics of every label round."""
    label_metrics = [round_path("label_metrics.csv", rr(r), run, seed) for r in label_rounds(run)]
    return round_paths(run, seed, "metrics.csv") + label_metrics


def dataset_metric_files(dataset):
    """Every metric file of one dataset's runs: each round's, and FID/IS of the final round (runs with fid: true)."""
    runs = [run for run in RUNS if config["runs"][run]["dataset"] == dataset]
    files = [f for run in runs for seed in SEEDS for f in run_metric_files(run, seed)]
    return files + [run_path("final_metrics.csv", run, seed) for run in runs if config["runs"][run]["fid"] for seed in SEEDS]


def model_targets():
    """Every round's model.pt and sample figure: a deleted middle checkpoint is rebuilt, not silently missing."""
    return [
        path
        for run in RUNS
        for seed in SEEDS
        for path in round_paths(run, seed, "model.pt") + round_paths(run, seed, "samples.png", first=1)
    ]


def label_targets():
    """Every labels.h5 of every run (round 0's only for methods whose labels never change)."""
    return [round_path("labels.h5", rr(r), run, seed) for run in RUNS for seed in SEEDS for r in label_rounds(run)]


def metric_targets():
    """The gathered tidy metrics and the comparison tables (evaluate/report stages, docs/metrics.md)."""
    return [results_path("metrics.csv")] + expand(results_path("tables/comparison_{dataset}.md"), dataset=DATASETS)


def figure_targets():
    """Metrics over rounds and the comparison figure, per dataset; the generation figures of every
    image run's first seed (one per run: they show what a model makes, not a spread over seeds)."""
    per_dataset = expand(results_path("figures/{name}_{dataset}.png"), name=["metrics", "comparison"], dataset=DATASETS)
    image_runs = [run for run in RUNS if holds_images(config["datasets"][config["runs"][run]["dataset"]]["kind"])]
    return per_dataset + [run_path("generation/interpolation.png", run, SEEDS[0]) for run in image_runs]


def audit_targets():
    """Label audit and lineage figures of every run whose labels change (docs/audit.md); fixed labels have none."""
    return [
        path
        for run in RUNS
        if len(label_rounds(run)) > 1
        for seed in SEEDS
        for path in (run_path("audit/events.csv", run, seed), run_path("lineage/flow.png", run, seed))
    ]


def spec_targets():
    """Every run.yaml: the resolved run as people read it (jobs take the spec as text: spec_param)."""
    return [run_path("run.yaml", run, seed) for run in RUNS for seed in SEEDS]


def all_targets():
    return metric_targets() + figure_targets() + model_targets() + label_targets() + audit_targets() + spec_targets()


# ----------------------------------------------------------------------------- evaluation and audit
def evaluator_file(name, dataset="{dataset}"):
    """A file of a dataset's evaluator classifier."""
    return results_path(f"evaluators/{dataset}/{name}")


def has_evaluator(dataset):
    """Whether the dataset's kind gets an evaluator classifier (relabelgan.data.registry says; docs/metrics.md)."""
    return kind_has_evaluator(config["datasets"][dataset]["kind"])


def evaluator_path(run):
    """The run's dataset's evaluator.pt, or None when that dataset gets no evaluator."""
    dataset = config["runs"][run]["dataset"]
    return evaluator_file("evaluator.pt", dataset) if has_evaluator(dataset) else None


def evaluator_input(wildcards):
    """The run's dataset's evaluator.pt as a named input, for datasets that have one."""
    path = evaluator_path(wildcards.run)
    return {"evaluator": path} if path else {}


def ancient_evaluator_input(wildcards):
    """evaluator.pt for the metrics a phase computes in passing: a retrained evaluator re-evaluates the
    rounds (round_metrics sees the recipe change) and retrains nothing."""
    return {name: ancient(path) for name, path in evaluator_input(wildcards).items()}


def evaluator_flag(wildcards, input):
    return f"--evaluator {input.evaluator}" if "evaluator" in input.keys() else ""


def reference_stats_file(dataset):
    """A dataset's cached Inception statistics; the name states the protocol (metrics/inception.py)."""
    return results_path(f"reference_stats/{dataset}/{REFERENCE_STATS_NAME}")


def final_model(wildcards):
    """The model after the run's last phase."""
    return round_path("model.pt", rr(rounds(wildcards.run)), wildcards.run, wildcards.seed)


def final_round_inputs(wildcards):
    """The final model, the labels it was trained on and its round's features.h5 (generation figures)."""
    last = rounds(wildcards.run)
    return {
        "model": final_model(wildcards),
        "labels": labels_in_force(wildcards.run, wildcards.seed, last - 1),
        "features": round_path("features.h5", rr(last), wildcards.run, wildcards.seed),
    }


def run_labels(wildcards):
    """Every round's labels.h5 of the job's run and seed."""
    return [round_path("labels.h5", rr(r), wildcards.run, wildcards.seed) for r in label_rounds(wildcards.run)]


def comparison_inputs(wildcards):
    inputs = {"metrics": results_path(f"metrics/{wildcards.dataset}.csv")}
    if has_evaluator(wildcards.dataset):
        inputs["evaluator"] = evaluator_file("evaluator.csv", wildcards.dataset)
    return inputs


def slurm_preflight() -> None:
    """With the SLURM executor, stop at once, in one line, when SLURM's commands are missing (the plugin
    would otherwise fail every job submission, each after its retries, with the cause buried in logs)."""
    import shutil

    plugin = workflow.executor_plugin
    if plugin is None or plugin.name != "slurm":
        return
    missing = [cmd for cmd in ("sbatch", "sinfo", "sacct", "squeue") if shutil.which(cmd) is None]
    if missing:
        raise WorkflowError(
            f"--profile slurm: {', '.join(missing)} not found on PATH; run snakemake on the cluster's "
            "submit host (where SLURM's commands are), or drop --profile slurm to run locally"
        )


onstart:
    slurm_preflight()
