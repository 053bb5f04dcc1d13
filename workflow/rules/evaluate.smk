# Metrics per round, gathered into one tidy table.


rule evaluate_round:
    input:
        spec=RUN_DIR + "/run.yaml",
        model=ROUND_DIR + "/model.pt",
        labels=ROUND_DIR + "/labels.h5",
    output:
        ROUND_DIR + "/metrics.csv",
    log:
        LOGS + "/evaluate_{r}.log",
    benchmark:
        BENCH + "/evaluate_{r}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=CPU["mem_mb"],
        runtime=CPU["runtime"],
    shell:
        "OMP_NUM_THREADS={threads} relabelgan evaluate --spec {input.spec} --round {wildcards.r}"
        " --model {input.model} --labels {input.labels} --out {output} > {log} 2>&1"


rule gather_metrics:
    input:
        [f for run in RUNS for seed in SEEDS for f in run_metric_files(run, seed)],
    output:
        RESULTS + "/metrics.csv",
    log:
        RESULTS + "/logs/gather_metrics.log",
    conda:
        "../../envs/report.yaml"
    localrule: True
    shell:
        "relabelgan gather --out {output} {input} > {log} 2>&1"
