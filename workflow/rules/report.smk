# Figures for the report.


rule metrics_figure:
    input:
        results_path("metrics/{dataset}.csv"),
    output:
        report(
            results_path("figures/metrics_{dataset}.png"),
            caption="../report/metrics_over_rounds.rst",
            category="Metrics",
            labels={"dataset": "{dataset}"},
        ),
    log:
        results_path("logs/metrics_figure_{dataset}.log"),
    benchmark:
        results_path("benchmarks/metrics_figure/{dataset}.tsv")
    conda:
        "../../envs/report.yaml"
    localrule: True
    shell:
        "relabelgan figures --metrics {input:q} --dataset {wildcards.dataset:q} --out {output:q} > {log:q} 2>&1"


rule audit_run:
    input:
        run_labels,
    output:
        transitions=run_path("audit/transitions.csv"),
        moves=run_path("audit/moves.csv"),
        events=report(
            run_path("audit/events.csv"),
            caption="../report/audit_events.rst",
            category="Audit",
            subcategory="{run}",
            labels={"run": "{run}", "seed": "{seed}", "table": "split/merge events"},
        ),
    params:
        out_dir=lambda w: run_path("audit", w.run, w.seed),
    log:
        log_path("audit.log"),
    benchmark:
        bench_path("audit.tsv")
    conda:
        "../../envs/report.yaml"
    threads: CPU["threads"]
    resources:
        mem_mb=CPU["mem_mb"],
        runtime=CPU["runtime"],
    shell:
        "relabelgan audit --out-dir {params.out_dir:q} {input:q} > {log:q} 2>&1"


LINEAGE_FIGURES = {
    "flow": "lineage_flow.rst",
    "transitions": "lineage_transitions.rst",
    "sizes": "lineage_sizes.rst",
    "split_tree": "lineage_split_tree.rst",
    "clusters": "lineage_clusters.rst",
}


rule lineage_figures:
    input:
        model=final_model,
        labels=run_labels,
    output:
        **{
            name: report(
                run_path(f"lineage/{name}.png"),
                caption=f"../report/{caption}",
                category="Lineage",
                subcategory="{run}",
                labels={"run": "{run}", "seed": "{seed}", "figure": name},
            )
            for name, caption in LINEAGE_FIGURES.items()
        },
    params:
        spec=spec_param,
        out_dir=lambda w: run_path("lineage", w.run, w.seed),
    log:
        log_path("lineage.log"),
    benchmark:
        bench_path("lineage.tsv")
    conda:
        "../../envs/torch.yaml"
    threads: CPU["threads"]
    resources:
        mem_mb=CPU["mem_mb"],
        runtime=CPU["runtime"],
    shell:
        "OMP_NUM_THREADS={threads} relabelgan lineage --spec {params.spec:q} --model {input.model:q}"
        " --out-dir {params.out_dir:q} {input.labels:q} > {log:q} 2>&1"


rule generation_figures:
    input:
        unpack(final_round_inputs),
    output:
        **{
            name: report(
                run_path(f"generation/{name}.png"),
                caption=f"../report/generation_{name}.rst",
                category="Generation",
                subcategory="{run}",
                labels={"run": "{run}", "seed": "{seed}", "figure": name},
            )
            for name in ("interpolation", "fixed_z", "nearest")
        },
    params:
        spec=spec_param,
        out_dir=lambda w: run_path("generation", w.run, w.seed),
    log:
        log_path("generation.log"),
    benchmark:
        bench_path("generation.tsv")
    conda:
        "../../envs/torch.yaml"
    threads: CPU["threads"]
    resources:
        mem_mb=CPU["mem_mb"],
        runtime=CPU["runtime"],
    shell:
        "OMP_NUM_THREADS={threads} relabelgan generation --spec {params.spec:q} --model {input.model:q}"
        " --labels {input.labels:q} --features {input.features:q} --out-dir {params.out_dir:q} > {log:q} 2>&1"


rule comparison_table:
    input:
        unpack(comparison_inputs),
    output:
        csv=report(
            results_path("tables/comparison_{dataset}.csv"),
            caption="../report/comparison_table.rst",
            category="Comparison",
            labels={"dataset": "{dataset}", "kind": "table"},
        ),
        md=results_path("tables/comparison_{dataset}.md"),
        png=report(
            results_path("figures/comparison_{dataset}.png"),
            caption="../report/comparison_plot.rst",
            category="Comparison",
            labels={"dataset": "{dataset}", "kind": "plot"},
        ),
    params:
        evaluator=lambda w, input: f"--evaluator-report {input.evaluator}" if "evaluator" in input.keys() else "",
    log:
        results_path("logs/comparison_table_{dataset}.log"),
    benchmark:
        results_path("benchmarks/comparison_table/{dataset}.tsv")
    conda:
        "../../envs/report.yaml"
    localrule: True
    shell:
        "relabelgan tables --metrics {input.metrics:q} --dataset {wildcards.dataset:q} {params.evaluator}"
        " --out-csv {output.csv:q} --out-md {output.md:q} --out-png {output.png:q} > {log:q} 2>&1"
