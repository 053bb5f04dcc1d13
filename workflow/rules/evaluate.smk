# Metrics: the evaluator classifier of each dataset, FID/IS of the final round for runs with fid: true
# (against the dataset's Inception statistics, computed once per dataset by reference_stats), and
# one tidy table of everything (docs/metrics.md). Each round's cheap model metrics are computed by
# its phase (train.smk) and made into metrics.csv by round_metrics, or, after a metric setting
# changed, by reevaluate_round from the model; its labels' metrics come from relabel (relabel.smk).


rule round_metrics:
    input:
        record=metrics_record,
    output:
        round_path("metrics.csv"),
    params:
        spec=spec_param,
        **stage_params("metrics"),
    log:
        log_path("round_metrics_{r}.log"),
    benchmark:
        bench_path("round_metrics_{r}.tsv")
    conda:
        "../../envs/report.yaml"
    localrule: True
    shell:
        "relabelgan metrics-table --spec {params.spec:q} --round {wildcards.r:q} --record {input.record:q}"
        " --out {output:q} > {log:q} 2>&1"


rule reevaluate_round:
    input:
        unpack(reevaluate_inputs),
    output:
        round_path("reevaluated_metrics.json"),
    params:
        spec=spec_param,
        **stage_params("metrics"),
        labels=labels_flag,
        evaluator=evaluator_flag,
    log:
        log_path("reevaluate_{r}.log"),
    benchmark:
        bench_path("reevaluate_{r}.tsv")
    conda:
        "../../envs/torch.yaml"
    threads: GPU["threads"]
    resources:
        mem_mb=GPU["mem_mb"],
        runtime=GPU["runtime"],
        gpu=GPU["gpus"],
    shell:
        "OMP_NUM_THREADS={threads} relabelgan evaluate --spec {params.spec:q} --round {wildcards.r:q}"
        " --model {input.model:q} {params.labels} {params.evaluator} --out {output:q} > {log:q} 2>&1"


rule train_evaluator:
    output:
        model=evaluator_file("evaluator.pt"),
        report=report(
            evaluator_file("evaluator.csv"),
            caption="../report/evaluator.rst",
            category="Evaluators",
            labels={"dataset": "{dataset}"},
        ),
    params:
        dataset=lambda w: json.dumps(config["datasets"][w.dataset], sort_keys=True),
        # Only the settings this dataset's evaluator recipe uses (a digits evaluator's are as before).
        settings=lambda w: json.dumps(
            evaluator_settings_for(config["evaluator"], config["datasets"][w.dataset]["kind"]), sort_keys=True
        ),
    log:
        results_path("logs/train_evaluator_{dataset}.log"),
    benchmark:
        results_path("benchmarks/train_evaluator/{dataset}.tsv")
    conda:
        "../../envs/torch.yaml"
    threads: CPU["threads"]
    resources:
        mem_mb=CPU["mem_mb"],
        runtime=CPU["runtime"],
    shell:
        "OMP_NUM_THREADS={threads} relabelgan train-evaluator --dataset {wildcards.dataset:q}"
        " --dataset-json {params.dataset:q} --settings-json {params.settings:q}"
        " --out {output.model:q} --report {output.report:q} > {log:q} 2>&1"


rule reference_stats:
    output:
        reference_stats_file("{dataset}"),
    params:
        dataset=lambda w: json.dumps(config["datasets"][w.dataset], sort_keys=True),
    log:
        results_path("logs/reference_stats_{dataset}.log"),
    benchmark:
        results_path("benchmarks/reference_stats/{dataset}.tsv")
    conda:
        "../../envs/torch.yaml"
    threads: GPU["threads"]
    resources:
        mem_mb=GPU["mem_mb"],
        runtime=GPU["runtime"],
        gpu=GPU["gpus"],
    shell:
        "OMP_NUM_THREADS={threads} relabelgan reference-stats --dataset {wildcards.dataset:q}"
        " --dataset-json {params.dataset:q} --out {output:q} > {log:q} 2>&1"


rule evaluate_final:
    input:
        model=final_model,
        reference=lambda w: reference_stats_file(config["runs"][w.run]["dataset"]),
    output:
        run_path("final_metrics.csv"),
    params:
        spec=spec_param,
        **stage_params("fid"),
        round=lambda w: rounds(w.run),
    log:
        log_path("evaluate_final.log"),
    benchmark:
        bench_path("evaluate_final.tsv")
    conda:
        "../../envs/torch.yaml"
    threads: GPU["threads"]
    resources:
        mem_mb=GPU["mem_mb"],
        runtime=GPU["runtime"],
        gpu=GPU["gpus"],
    shell:
        "OMP_NUM_THREADS={threads} relabelgan evaluate-final --spec {params.spec:q} --round {params.round:q}"
        " --model {input.model:q} --reference-stats {input.reference:q} --out {output:q} > {log:q} 2>&1"


rule gather_dataset_metrics:
    input:
        lambda w: dataset_metric_files(w.dataset),
    output:
        results_path("metrics/{dataset}.csv"),
    log:
        results_path("logs/gather_metrics_{dataset}.log"),
    benchmark:
        results_path("benchmarks/gather_metrics/{dataset}.tsv")
    conda:
        "../../envs/report.yaml"
    localrule: True
    shell:
        "relabelgan gather --out {output:q} {input:q} > {log:q} 2>&1"


# Per dataset first, so a dataset's figures and table are made as soon as its own runs finish.
rule gather_metrics:
    input:
        expand(results_path("metrics/{dataset}.csv"), dataset=DATASETS),
    output:
        results_path("metrics.csv"),
    log:
        results_path("logs/gather_metrics.log"),
    benchmark:
        results_path("benchmarks/gather_metrics.tsv")
    conda:
        "../../envs/report.yaml"
    localrule: True
    shell:
        "relabelgan gather --out {output:q} {input:q} > {log:q} 2>&1"
