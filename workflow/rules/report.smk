# Figures for the report.


rule metrics_figure:
    input:
        RESULTS + "/metrics.csv",
    output:
        report(
            RESULTS + "/figures/metrics_{dataset}.png",
            caption="../report/metrics_over_rounds.rst",
            category="Metrics",
            labels={"dataset": "{dataset}"},
        ),
    log:
        RESULTS + "/logs/metrics_figure_{dataset}.log",
    conda:
        "../../envs/report.yaml"
    localrule: True
    shell:
        "relabelgan figures --metrics {input} --dataset {wildcards.dataset} --out {output} > {log} 2>&1"
