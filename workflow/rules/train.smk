# Phases: round 0 is the initialisation, phase r trains model r-1 on labels r-1.


rule resolve:
    output:
        RUN_DIR + "/run.yaml",
    params:
        spec=spec_json,
    log:
        LOGS + "/resolve.log",
    conda:
        "../../envs/torch.yaml"
    localrule: True
    shell:
        "relabelgan resolve --spec-json {params.spec:q} --out {output} > {log} 2>&1"


rule init:
    input:
        spec=RUN_DIR + "/run.yaml",
    output:
        ROUND_DIR.replace("{r}", "00") + "/model.pt",
    log:
        LOGS + "/init.log",
    benchmark:
        BENCH + "/init.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=CPU["mem_mb"],
        runtime=CPU["runtime"],
    shell:
        "relabelgan init --spec {input.spec} --out {output} > {log} 2>&1"


rule train_phase:
    input:
        spec=RUN_DIR + "/run.yaml",
        model=lambda w: RUN_DIR.format(**w) + f"/round_{rr(int(w.r) - 1)}/model.pt",
        labels=lambda w: RUN_DIR.format(**w) + f"/round_{rr(int(w.r) - 1)}/labels.h5",
    output:
        model=ROUND_DIR + "/model.pt",
        log=ROUND_DIR + "/train_log.csv",
        samples=report(
            ROUND_DIR + "/samples.png",
            caption="../report/samples.rst",
            category="Samples",
            subcategory="{run}",
            labels={"run": "{run}", "seed": "{seed}", "round": "{r}"},
        ),
    wildcard_constraints:
        r=r"(?!00)\d\d",
    log:
        LOGS + "/train_{r}.log",
    benchmark:
        BENCH + "/train_{r}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=GPU["mem_mb"],
        runtime=GPU["runtime"],
        gpu=GPU["gpus"],
    shell:
        "OMP_NUM_THREADS={threads} relabelgan train --spec {input.spec} --round {wildcards.r}"
        " --model-in {input.model} --labels {input.labels}"
        " --out {output.model} --log {output.log} --samples {output.samples} > {log} 2>&1"


ruleorder: init > train_phase
