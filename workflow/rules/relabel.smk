# Between phases: critic features of every sample, then the next round's labels.


rule extract_features:
    input:
        spec=run_path("run.yaml"),
        model=round_path("model.pt"),
    output:
        round_path("features.h5"),
    log:
        log_path("extract_{r}.log"),
    benchmark:
        bench_path("extract_{r}.tsv")
    conda:
        "../../envs/torch.yaml"
    threads: GPU["threads"]
    resources:
        mem_mb=GPU["mem_mb"],
        runtime=GPU["runtime"],
        gpu=GPU["gpus"],
    shell:
        "OMP_NUM_THREADS={threads} relabelgan extract --spec {input.spec} --round {wildcards.r}"
        " --model {input.model} --out {output} > {log} 2>&1"


rule relabel:
    input:
        unpack(relabel_inputs),
    output:
        round_path("labels.h5"),
    params:
        flags=relabel_flags,
    log:
        log_path("relabel_{r}.log"),
    benchmark:
        bench_path("relabel_{r}.tsv")
    conda:
        "../../envs/rapids.yaml"
    threads: GPU["threads"]
    resources:
        mem_mb=GPU["mem_mb"],
        runtime=GPU["runtime"],
        gpu=GPU["gpus"],
    shell:
        "OMP_NUM_THREADS={threads} relabelgan relabel --spec {input.spec} --round {wildcards.r}"
        " {params.flags} --out {output} > {log} 2>&1"
