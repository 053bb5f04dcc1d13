# Between phases: the next round's labels from the round's features.h5 (written by its phase),
# and the labels' metrics against the ground truth. Needs no torch (relabel.py). Its params are the
# relabel settings (k-means, matching, splitting's criteria): the rest it reads reaches it through
# the features of the model.


rule relabel:
    input:
        unpack(relabel_inputs),
    output:
        labels=round_path("labels.h5"),
        metrics=round_path("label_metrics.csv"),
    params:
        spec=spec_param,
        **stage_params("relabel"),
        flags=relabel_flags,
    log:
        log_path("relabel_{r}.log"),
    benchmark:
        bench_path("relabel_{r}.tsv")
    conda:
        "../../envs/rapids.yaml"
    priority: phases_ahead
    threads: GPU["threads"]
    resources:
        mem_mb=GPU["mem_mb"],
        runtime=GPU["runtime"],
        gpu=GPU["gpus"],
    shell:
        "OMP_NUM_THREADS={threads} relabelgan relabel --spec {params.spec:q} --round {wildcards.r:q}"
        " --features {input.features:q} {params.flags} --out {output.labels:q} --metrics {output.metrics:q} > {log:q} 2>&1"
