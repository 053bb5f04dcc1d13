"""scripts/results_tables.py on constructed results: collect, build, "not run yet", bad input, no torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml
from conftest import REPO

SCRIPT = REPO / "scripts" / "results_tables.py"
DOC = """# Results

Hand-written intro.

<!-- results_tables:paper-2d begin -->
old table
<!-- results_tables:paper-2d end -->

Prose between the sections.

<!-- results_tables:paper-2d-rounds begin -->
<!-- results_tables:paper-2d-rounds end -->

<!-- results_tables:default-digits begin -->
<!-- results_tables:default-digits end -->

<!-- results_tables:images-digits begin -->
<!-- results_tables:images-digits end -->

<!-- results_tables:images-smnist begin -->
<!-- results_tables:images-smnist end -->

<!-- results_tables:stacked-mnist begin -->
<!-- results_tables:stacked-mnist end -->

Closing prose.
"""


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120)


def _fake_run(results: Path, run: str, seed: int, rounds: int, finals: dict[str, float], done: int | None = None):
    """results/RUN/seedN with run.yaml and round_*/metrics.csv up to ``done`` (default: all rounds)."""
    dataset, method = run.split("-")[:2]
    seed_dir = results / run / f"seed{seed}"
    seed_dir.mkdir(parents=True)
    (seed_dir / "run.yaml").write_text(yaml.safe_dump({"rounds": rounds, "name": run, "seed": seed}))
    for rnd in range(1, (rounds if done is None else done) + 1):
        rows = [
            {
                "run": run,
                "dataset": dataset,
                "method": method,
                "seed": seed,
                "round": rnd,
                "metric": m,
                "value": v if rnd == rounds else 0.0,
            }
            for m, v in finals.items()
        ]
        (seed_dir / f"round_{rnd:02d}").mkdir()
        pd.DataFrame(rows).to_csv(seed_dir / f"round_{rnd:02d}" / "metrics.csv", index=False)


def test_collect_then_build_fills_the_tables_and_keeps_the_prose(tmp_path):
    results, docs = tmp_path / "results" / "paper-2d", tmp_path / "docs"
    for seed, rkl in ((0, 0.0012), (1, 0.0016)):
        _fake_run(
            results,
            "ring-selfcond",
            seed,
            2,
            {
                "modes_50k": 8.0,
                "hq_box_pct_50k": 99.0 + seed,
                "reverse_kl_50k": rkl,
                "spread_ratio_50k": 0.9,
                "mmd2_rbf_2k": 0.0001,
            },
        )
    _fake_run(
        results,
        "grid-uncond",
        0,
        2,
        {"modes_50k": 20.0, "hq_box_pct_50k": 90.0, "reverse_kl_50k": 0.5, "spread_ratio_50k": float("nan")},
    )  # NaN: no HQ sample
    _fake_run(results, "grid-selfcond", 0, 2, {"modes_50k": 25.0}, done=1)  # unfinished: not collected
    _fake_run(results, "ring-selfcond-refopt", 0, 2, {"modes_50k": 7.0})  # a variant: listed under selfcond

    out = _run("collect", str(results), "--to", str(docs / "results" / "paper-2d"))
    assert out.returncode == 0, out.stderr
    assert "skipped" in out.stderr and "grid-selfcond" in out.stderr
    collected = sorted(
        p.relative_to(docs / "results" / "paper-2d").as_posix() for p in (docs / "results").rglob("*.csv")
    )
    assert collected == [
        "grid-uncond/seed0.csv",
        "ring-selfcond-refopt/seed0.csv",
        "ring-selfcond/seed0.csv",
        "ring-selfcond/seed1.csv",
    ]
    assert len(pd.read_csv(docs / "results" / "paper-2d" / "ring-selfcond" / "seed0.csv")) == 2 * 5

    (docs / "results.md").write_text(DOC)
    out = _run("build", "--results", str(docs / "results"), "--doc", str(docs / "results.md"))
    assert out.returncode == 0, out.stderr
    text = (docs / "results.md").read_text()
    for prose in ("Hand-written intro.", "Prose between the sections.", "Closing prose."):
        assert prose in text
    assert "old table" not in text
    # mean ± s.e. over the two seeds, significant digits: (0.0012, 0.0016) -> 0.00140 ± 0.00020
    assert (
        "| Self-conditioned (k = 50) | ours (`ring-selfcond`) | 2 (0, 1) | 8.00 ± 0.00 | 99.50 ± 0.50 | "
        "0.00140 ± 0.00020 | 0.900 ± 0.000 | 0.000100 ± 0.000000 |"
    ) in text
    paper = "| Self-conditioned (k = 50) | paper, Table 1 | 10 | 8.0 ± 0.0 | 99.5 ± 0.3 | 0.0014 ± 0.0002 | – | – |"
    assert paper in text
    assert "| GAN | ours (`grid-uncond`) | 1 (0) | 20.0 | 90.0 | 0.500 | – | – |" in text  # one seed: no ±
    assert "| Self-conditioned (k = 50) | ours (`grid-selfcond`) | not run yet |" in text
    assert "| Self-conditioned (k = 50) | ours (`ring-selfcond-refopt`) | 1 (0) | 7.00 |" in text
    assert "| Random labels (k = 50) | ours (`ring-random`) | not run yet |" in text
    assert "| `ring-selfcond` | 1 | 2 | 0 ± 0 |" in text  # every round in the rounds section

    again = _run("build", "--results", str(docs / "results"), "--doc", str(docs / "results.md"))
    assert again.returncode == 0 and (docs / "results.md").read_text() == text  # idempotent


def test_digits_section_shows_the_msssim_gap_and_the_last_labels(tmp_path):
    """images.yaml's digits runs: the gap is per seed, the labels' NMI comes from label_metrics.csv."""
    results, docs = tmp_path / "results" / "images", tmp_path / "docs"
    for seed, gen in ((0, 0.80), (1, 0.84)):
        _fake_run(
            results, "digits-selfcond", seed, 2, {"msssim_w3_40px_gen_intra": gen, "msssim_w3_40px_real_intra": 0.6}
        )
        labels = results / "digits-selfcond" / f"seed{seed}" / "round_02" / "label_metrics.csv"
        row = {"run": "digits-selfcond", "dataset": "digits", "method": "selfcond", "seed": seed, "round": 2}
        pd.DataFrame([{**row, "metric": "labels_nmi", "value": 0.5}]).to_csv(labels, index=False)
    assert _run("collect", str(results), "--to", str(docs / "results" / "images")).returncode == 0
    (docs / "results.md").write_text(DOC)
    out = _run("build", "--results", str(docs / "results"), "--doc", str(docs / "results.md"))
    assert out.returncode == 0, out.stderr
    # gap per seed: 0.20, 0.24 -> 0.220 ± 0.020; NMI read from label_metrics.csv
    assert (
        "| `digits-selfcond` | 2 (0, 1) | 0.820 ± 0.020 | 0.600 ± 0.000 | 0.220 ± 0.020 | – | – | – | – | 0.500 ± 0.000 | – |"
        in (docs / "results.md").read_text()
    )


def test_default_digits_section_adds_the_by_digit_gap_where_it_was_measured(tmp_path):
    results, docs = tmp_path / "results" / "default", tmp_path / "docs"
    finals = {
        "msssim_w3_40px_gen_intra": 0.72,
        "msssim_w3_40px_real_intra": 0.61,
        "msssim_w3_40px_gen_intra_clf": 0.70,
        "msssim_w3_40px_real_intra_truth": 0.66,
    }
    _fake_run(results, "digits-selfcond", 0, 3, finals)
    assert _run("collect", str(results), "--to", str(docs / "results" / "default")).returncode == 0
    (docs / "results.md").write_text(DOC)
    out = _run("build", "--results", str(docs / "results"), "--doc", str(docs / "results.md"))
    assert out.returncode == 0, out.stderr
    text = (docs / "results.md").read_text()
    default = text.split("results_tables:default-digits begin")[1].split("results_tables:default-digits end")[0]
    assert "gap by digit" in default and "| 0.700 | 0.660 | 0.0400 |" in default  # by digit: 0.70 - 0.66
    images = text.split("results_tables:images-digits begin")[1].split("results_tables:images-digits end")[0]
    assert "gap by digit" not in images  # not measured there: no empty columns


def test_bad_input_is_one_line_and_exit_status_2(tmp_path):
    out = _run("collect", str(tmp_path / "nowhere"), "--to", str(tmp_path / "to"))
    assert out.returncode == 2 and "nowhere: not a folder" in out.stderr
    doc = tmp_path / "results.md"
    doc.write_text("no markers here\n")
    out = _run("build", "--results", str(tmp_path), "--doc", str(doc))
    assert out.returncode == 2 and "results_tables:paper-2d begin" in out.stderr
    assert doc.read_text() == "no markers here\n"  # nothing lost
    bad = tmp_path / "results" / "paper-2d" / "ring-selfcond"
    bad.mkdir(parents=True)
    (bad / "seed0.csv").write_text("a,b\n1,2\n")
    doc.write_text(DOC)
    out = _run("build", "--results", str(tmp_path / "results"), "--doc", str(doc))
    assert out.returncode == 2 and "seed0.csv: missing column(s)" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_the_script_does_not_import_torch():
    code = f"import runpy, sys; runpy.run_path({str(SCRIPT)!r}, run_name='imported'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def _rows(run: str, method: str, seed: int, values: dict[tuple[int, str], float]) -> list[dict]:
    return [
        {"run": run, "dataset": "smnist", "method": method, "seed": seed, "round": r, "metric": m, "value": v}
        for (r, m), v in values.items()
    ]


def test_table2_puts_each_models_agreement_beside_the_purity_of_the_labels_it_trained_on(tmp_path):
    """Model r trains on labels r-1: its class agreement is read against those labels' purity, not round
    r's own; the one-class GAN shows none; the evaluator's ceiling row comes from its evaluator.csv."""
    folder = tmp_path / "docs" / "results" / "stacked-mnist"
    selfcond = {(r, "labels_purity"): p for r, p in ((0, 0.04), (1, 0.05), (2, 0.06))}
    selfcond |= {(2, "clf_class_agreement_10k"): 0.03, (2, "clf_modes_10k"): 400.0, (2, "labels_nmi"): 0.5}
    uncond = {(0, "labels_purity"): 0.001, (0, "labels_nmi"): 0.0, (2, "clf_class_agreement_10k"): 0.001}
    uncond |= {(2, "clf_modes_10k"): 500.0}
    for run, method, values in (("smnist-selfcond", "selfcond", selfcond), ("smnist-uncond", "uncond", uncond)):
        (folder / run).mkdir(parents=True)
        pd.DataFrame(_rows(run, method, 0, values)).to_csv(folder / run / "seed0.csv", index=False)
    (folder / "evaluators").mkdir()
    pd.DataFrame(
        [
            {"dataset": "smnist", "metric": "evaluator_test_accuracy", "value": 0.986},
            {"dataset": "smnist", "metric": "evaluator_triple_accuracy", "value": 0.957},
            {"dataset": "smnist", "metric": "evaluator_ceiling_modes", "value": 1000.0},
            {"dataset": "smnist", "metric": "evaluator_ceiling_reverse_kl", "value": 0.0574},
            {"dataset": "smnist", "metric": "evaluator_ceiling_reverse_kl_log10", "value": 0.0250},
        ]
    ).to_csv(folder / "evaluators" / "smnist.csv", index=False)
    doc = tmp_path / "docs" / "results.md"
    doc.write_text(DOC)
    out = _run("build", "--results", str(tmp_path / "docs" / "results"), "--doc", str(doc))
    assert out.returncode == 0, out.stderr
    table = doc.read_text().split("stacked-mnist begin -->")[1].split("<!-- results_tables:stacked-mnist end")[0]
    # agreement 0.03 beside round 1's purity 0.05 (not round 2's 0.06)
    assert "| Our Method | ours (`smnist-selfcond`) | 1 (0) | 400 | – | – | 0.0300 | 0.0500 | 0.500 | – |" in table
    assert "| GAN | ours (`smnist-uncond`) | 1 (0) | 500 | – | – | – | – | 0 | – |" in table
    assert "| Online Clustering | ours (`smnist-online`) | not run yet |" in table
    assert "| Online Clustering | paper, Table 2 | 5 | 995.8 ± 0.86 | – | 0.17 ± 0.027 |" in table
    assert "| real triples (the ceiling) | the evaluator | – | 1000 | 0.0574 | 0.0250 |" in table
    assert "98.6 % of held-out digits and 95.7 % of held-out triples" in table


def test_collect_copies_each_datasets_evaluator_report(tmp_path):
    results, to = tmp_path / "results", tmp_path / "docs" / "stacked-mnist"
    _fake_run(results, "smnist-uncond", 0, 1, {"clf_modes_10k": 500.0})
    (results / "evaluators" / "smnist").mkdir(parents=True)
    (results / "evaluators" / "smnist" / "evaluator.csv").write_text("dataset,metric,value\nsmnist,x,1\n")
    out = _run("collect", str(results), "--to", str(to))
    assert out.returncode == 0, out.stderr
    assert (to / "evaluators" / "smnist.csv").read_text() == "dataset,metric,value\nsmnist,x,1\n"
    assert (to / "smnist-uncond" / "seed0.csv").exists()
