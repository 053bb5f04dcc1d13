# Phases: round 0 is the initialisation, phase r trains model r-1 on labels r-1. Each job also
# writes its round's features.h5 and model metrics (a record, phase_metrics.json, which rule
# round_metrics makes into metrics.csv) while the model is in memory (round_outputs.py): the relabel
# step between phases then needs neither torch nor the dataset. Their params are the training
# settings only (common.smk, "reruns as small as the change").


rule resolve:
    output:
        run_path("run.yaml"),
    params:
        spec=spec_json,
    log:
        log_path("resolve.log"),
    benchmark:
        bench_path("resolve.tsv")
    conda:
        "../../envs/torch.yaml"
    localrule: True
    shell:
        "relabelgan resolve --spec-json {params.spec:q} --out {output:q} > {log:q} 2>&1"


rule init:
    input:
        unpack(ancient_evaluator_input),
    output:
        model=round_path("model.pt", r="00"),
        features=round_path("features.h5", r="00"),
        metrics=round_path("phase_metrics.json", r="00"),
    params:
        spec=spec_param,
        **stage_params("init"),
        evaluator=evaluator_flag,
    log:
        log_path("init.log"),
    benchmark:
        bench_path("init.tsv")
    conda:
        "../../envs/torch.yaml"
    priority: phases_ahead
    threads: CPU["threads"]
    resources:
        mem_mb=CPU["mem_mb"],
        runtime=CPU["runtime"],
    shell:
        "OMP_NUM_THREADS={threads} relabelgan init --spec {params.spec:q} --out {output.model:q}"
        " --features {output.features:q} --metrics {output.metrics:q} {params.evaluator} > {log:q} 2>&1"


rule train_phase:
    input:
        unpack(ancient_evaluator_input),
        model=lambda w: previous_round_path(w, "model.pt"),
        labels=lambda w: labels_in_force(w.run, w.seed, int(w.r) - 1),
    output:
        model=round_path("model.pt"),
        log=round_path("train_log.csv"),
        samples=report(
            round_path("samples.png"),
            caption="../report/samples.rst",
            category="Samples",
            subcategory="{run}",
            labels={"run": "{run}", "seed": "{seed}", "round": "{r}"},
        ),
        features=round_path("features.h5"),
        metrics=round_path("phase_metrics.json"),
    params:
        spec=spec_param,
        **stage_params("train"),
        evaluator=evaluator_flag,
    wildcard_constraints:
        r=r"(?!00)\d\d",
    log:
        log_path("train_{r}.log"),
    benchmark:
        bench_path("train_{r}.tsv")
    conda:
        "../../envs/torch.yaml"
    priority: phases_ahead
    threads: GPU["threads"]
    resources:
        mem_mb=GPU["mem_mb"],
        runtime=GPU["runtime"],
        gpu=GPU["gpus"],
    shell:
        "OMP_NUM_THREADS={threads} relabelgan train --spec {params.spec:q} --round {wildcards.r:q}"
        " --model-in {input.model:q} --labels {input.labels:q}"
        " --out {output.model:q} --log {output.log:q} --samples {output.samples:q}"
        " --features {output.features:q} --metrics {output.metrics:q} {params.evaluator} > {log:q} 2>&1"


ruleorder: init > train_phase
