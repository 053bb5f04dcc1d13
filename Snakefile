# relabelgan: class-conditional GANs trained in phases, relabeled between phases.
# Run: snakemake --cores 2 (embedded default config) or --profile profiles/slurm on a cluster.
from snakemake.utils import min_version

min_version("9.0")


# The embedded default, unless the user names a config file: --configfile replaces it (rather than
# merging its runs into the default's); --config KEY=VALUE overrides keys of whichever is in force.
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"



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
