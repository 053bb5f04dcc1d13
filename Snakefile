# relabelgan: class-conditional GANs trained in phases, relabeled between phases.
# Run: snakemake --cores 2 (embedded default config) or --profile profiles/slurm on a cluster.
from snakemake.utils import min_version

min_version("9.0")


# The embedded default, unless the user names a config file: --configfile replaces it (rather than
# merging its runs into the default's); --config KEY=VALUE overrides keys of whichever is in force.
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"



report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


wildcard_constraints:
    run="|".join(RUNS),
    seed=r"\d+",
    r=r"\d\d",
    dataset="|".join(DATASETS),


include: "workflow/rules/train.smk"
include: "workflow/rules/relabel.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        all_targets(),
    default_target: True


# Named targets, e.g. `snakemake --cores 2 labels`: one stage's outputs of every run and what they need.
rule models:
    input:
        model_targets(),


rule labels:
    input:
        label_targets(),


rule metrics:
    input:
        metric_targets(),


rule figures:
    input:
        figure_targets(),


rule audit:
    input:
        audit_targets(),
