"""docs/results.md's tables from small metrics files committed under docs/results/.

  python scripts/results_tables.py collect results/paper-2d --to docs/results/paper-2d
  python scripts/results_tables.py build

``collect`` copies each finished run/seed's per-round metrics (the tidy rows of every
``round_*/metrics.csv``) into ``<to>/<run>/seed<N>.csv``: a few kB that can be committed, where the
results folder (models, features) cannot. A run/seed whose last round (``rounds`` in its run.yaml)
has no metrics.csv yet is skipped and named. ``build`` rewrites the generated sections, each between
``<!-- results_tables:NAME begin -->`` and ``<!-- results_tables:NAME end -->``, from those files and
nothing else, leaving the hand-written prose around them as it is. A section is rewritten in whichever
file holds its markers: docs/results.md or its appendix docs/results/appendix.md (the every-round table).

Sections: ``paper-2d`` (the self-conditioned GAN paper's Table 1 rows beside ours: final round, mean ±
standard error over seeds), ``paper-2d-rounds`` (the same metrics at every round), ``default-digits``
(config.yaml's digits runs over three seeds, from docs/results/default), ``images-digits`` (configs/images.yaml's
digits runs, from docs/results/images) and ``images-smnist``. A run with no
file appears as "not run yet". No torch: only pandas, numpy and relabelgan.tables.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import yaml

from relabelgan.core.artifacts import atomic_path
from relabelgan.core.tidy import COLUMNS
from relabelgan.tables import TRAINED_PURITY, final_round, format_mean_se, summarise, with_trained_labels_purity

REPO = Path(__file__).resolve().parents[1]

# Liu et al., "Diverse Image Generation via Self-Conditioned GANs" (CVPR 2020), Table 1, copied from
# shared/papers/003 as printed: mean ± standard error over ten trials.
PAPER_TRIALS = 10
PAPER_TABLE1 = {
    ("ring", "uncond"): ("6.3 ± 0.5", "98.2 ± 0.2", "0.45 ± 0.09"),
    ("ring", "random"): ("7.9 ± 0.1", "96.3 ± 1.1", "0.07 ± 0.02"),
    ("ring", "selfcond"): ("8.0 ± 0.0", "99.5 ± 0.3", "0.0014 ± 0.0002"),
    ("grid", "uncond"): ("17.3 ± 0.8", "94.8 ± 0.7", "0.70 ± 0.07"),
    ("grid", "random"): ("16.0 ± 1.0", "90.6 ± 1.6", "0.57 ± 0.07"),
    ("grid", "selfcond"): ("25.0 ± 0.0", "99.5 ± 0.1", "0.0063 ± 0.0007"),
}
DATASETS = {"ring": "2D-Ring (8 modes)", "grid": "2D-Grid (25 modes)"}
METHODS = {"uncond": "GAN", "random": "Random labels (k = 50)", "selfcond": "Self-conditioned (k = 50)"}
# (metric in the files, column header); the first three are the paper's columns.
METRICS = [
    ("modes_50k", "modes"),
    ("hq_box_pct_50k", "HQ % (box)"),
    ("reverse_kl_50k", "reverse KL"),
    ("spread_ratio_50k", "spread ratio"),
    ("mmd2_rbf_2k", "MMD² (h = std)"),
]


class InputError(Exception):
    """Bad input: the message names the file or value and what to do (exit status 2)."""


# ----------------------------------------------------------------------------- collect


def read_tidy(path: Path) -> pd.DataFrame:
    """One tidy metrics CSV (run, dataset, method, seed, round, metric, value), refused by name if it is not."""
    frame = pd.read_csv(path)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {missing}; expected a metrics.csv of `relabelgan evaluate`")
    return frame[COLUMNS]


def _finished_rounds(seed_dir: Path) -> list[Path] | None:
    """The seed's metric files when its last round has its model metrics, else None: every round's
    metrics.csv and label_metrics.csv (the labels' NMI, purity, accuracy), and final_metrics.csv if made."""
    spec_file = seed_dir / "run.yaml"
    if not spec_file.is_file():
        raise InputError(f"{spec_file}: missing; collect needs each run's run.yaml beside its rounds")
    rounds = int(yaml.safe_load(spec_file.read_text())["rounds"])
    if not (seed_dir / f"round_{rounds:02d}" / "metrics.csv").is_file():
        return None
    files = sorted(seed_dir.glob("round_*/metrics.csv")) + sorted(seed_dir.glob("round_*/label_metrics.csv"))
    return files + [f for f in [seed_dir / "final_metrics.csv"] if f.is_file()]


def collect(results: Path, to: Path) -> list[Path]:
    """Copy every finished run/seed's per-round metrics into ``to/<run>/seed<N>.csv``; return the files written."""
    if not results.is_dir():
        raise InputError(f"{results}: not a folder; give the results folder of a config (e.g. results/paper-2d)")
    written = []
    for seed_dir in sorted(p for p in results.glob("*/seed*") if re.fullmatch(r"seed\d+", p.name)):
        files = _finished_rounds(seed_dir)
        if files is None:
            print(f"skipped {seed_dir}: its last round has no metrics.csv yet", file=sys.stderr)
            continue
        frame = pd.concat([read_tidy(f) for f in files], ignore_index=True)
        frame = frame.sort_values(["round", "metric"], kind="stable")
        out = to / seed_dir.parent.name / f"{seed_dir.name}.csv"
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out) as tmp:
            frame.to_csv(tmp, index=False)
        written.append(out)
    if not written:
        raise InputError(f"{results}: no finished run/seed (RUN/seedN/round_*/metrics.csv up to its last round)")
    return written + copy_evaluator_reports(results, to)


def copy_evaluator_reports(results: Path, to: Path) -> list[Path]:
    """Each dataset's evaluator.csv (held-out accuracy; for Stacked MNIST the triple accuracy and the
    ceiling on real triples) as ``to/evaluators/<dataset>.csv``; return the files written."""
    written = []
    for report in sorted(results.glob("evaluators/*/evaluator.csv")):
        out = to / "evaluators" / f"{report.parent.name}.csv"
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out) as tmp:
            tmp.write_bytes(report.read_bytes())
        written.append(out)
    return written


# ----------------------------------------------------------------------------- build


def load_results(folder: Path) -> pd.DataFrame:
    """Every committed per-run file under ``folder`` as one tidy frame (empty when there are none)."""
    frames = [read_tidy(path) for path in sorted(folder.glob("*/seed*.csv"))]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)


def _seeds_text(frame: pd.DataFrame, run: str) -> str:
    seeds = sorted(frame.loc[frame["run"] == run, "seed"].unique())
    return f"{len(seeds)} ({', '.join(map(str, seeds))})"


def _our_cells(summary: pd.DataFrame, run: str, metrics: list[tuple[str, str]] = METRICS) -> list[str]:
    """One run's cells in ``metrics`` order; "–" where the metric is missing or undefined (NaN, e.g. no HQ sample)."""
    cells = summary[summary["run"] == run].set_index("metric")
    present = [m in cells.index and pd.notna(cells.loc[m, "mean"]) for m, _ in metrics]
    return [
        format_mean_se(cells.loc[m, "mean"], cells.loc[m, "se"]) if ok else "–"
        for (m, _), ok in zip(metrics, present, strict=False)
    ]


def table1_section(frame: pd.DataFrame) -> str:
    """Per dataset: the paper's row and ours for GAN, random labels and selfcond (final round)."""
    summary = summarise(final_round(frame)) if len(frame) else pd.DataFrame(columns=["run", "metric"])
    header = "| method | source | seeds | " + " | ".join(h for _, h in METRICS) + " |"
    lines = []
    for dataset, title in DATASETS.items():
        lines += [f"#### {title}", "", header, "| --- | --- | --- |" + " --- |" * len(METRICS)]
        for method, name in METHODS.items():
            paper = list(PAPER_TABLE1[(dataset, method)]) + ["–"] * (len(METRICS) - 3)
            lines.append(f"| {name} | paper, Table 1 | {PAPER_TRIALS} | " + " | ".join(paper) + " |")
            run = f"{dataset}-{method}"
            if run in set(frame["run"]):
                ours = _our_cells(summary, run)
                lines.append(f"| {name} | ours (`{run}`) | {_seeds_text(frame, run)} | " + " | ".join(ours) + " |")
            else:
                lines.append(f"| {name} | ours (`{run}`) | not run yet |" + " |" * len(METRICS))
            # Variants of the same method (e.g. `grid-selfcond-refopt`: another optimiser) below its row.
            for variant in sorted(r for r in set(frame["run"]) if r.startswith(f"{run}-")):
                ours = _our_cells(summary, variant)
                lines.append(
                    f"| {name} | ours (`{variant}`) | {_seeds_text(frame, variant)} | " + " | ".join(ours) + " |"
                )
        lines.append("")
    rounds = ", ".join(map(str, sorted(final_round(frame)["round"].unique()))) if len(frame) else "–"
    lines.append(
        f"Ours: round {rounds} (the model after the last phase), mean ± standard "
        "error over the seeds shown (sample std / √n; no ± with one seed). Paper: mean ± standard error "
        f"over {PAPER_TRIALS} trials as printed. – = no value."
    )
    return "\n".join(lines)


def rounds_section(frame: pd.DataFrame) -> str:
    """Every run's metrics at every round, mean ± standard error over its seeds."""
    if not len(frame):
        return "Not run yet."
    header = "| run | round | seeds | " + " | ".join(h for _, h in METRICS) + " |"
    lines = [header, "| --- | --- | --- |" + " --- |" * len(METRICS)]
    order = {f"{d}-{m}": i for i, (d, m) in enumerate((d, m) for d in DATASETS for m in METHODS)}
    for run in sorted(frame["run"].unique(), key=lambda r: (order.get(r, len(order)), r)):
        for rnd, sub in frame[frame["run"] == run].groupby("round"):
            cells = _our_cells(summarise(sub), run)
            lines.append(f"| `{run}` | {rnd} | {sub['seed'].nunique()} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# configs/images.yaml's digits runs: (metric in the files, column header), final round.
DIGITS_METRICS = [
    ("msssim_w3_40px_gen_intra", "MS-SSIM generated"),
    ("msssim_w3_40px_real_intra", "MS-SSIM real (same classes)"),
    ("msssim_gap", "gap"),
    ("clf_frechet_10k", "evaluator Fréchet (10k)"),
    ("clf_modes_10k", "evaluator modes"),
    ("clf_class_agreement_10k", "class agreement"),
    (TRAINED_PURITY, "purity of the labels G trained on"),
    ("labels_nmi", "last labels' NMI"),
    ("nn_ratio_1k", "nearest-neighbour ratio"),
]
# The same comparison on one footing for every method (docs/metrics.md, "By true class"): shown where made.
DIGITS_TRUTH_METRICS = [
    ("msssim_w3_40px_gen_intra_clf", "MS-SSIM generated, by evaluator digit"),
    ("msssim_w3_40px_real_intra_truth", "MS-SSIM real, by digit"),
    ("msssim_gap_truth", "gap by digit"),
]
# (gap, generated, real) per comparison
MSSSIM_GAPS = [
    ("msssim_gap", "msssim_w3_40px_gen_intra", "msssim_w3_40px_real_intra"),
    ("msssim_gap_truth", "msssim_w3_40px_gen_intra_clf", "msssim_w3_40px_real_intra_truth"),
]


def _with_msssim_gap(frame: pd.DataFrame) -> pd.DataFrame:
    """Add per run, seed and round each generated minus real intra-class MS-SSIM (the bar docs/results.md holds the digits models to: ≤ 0.1)."""
    keys = ["run", "dataset", "method", "seed", "round"]
    wide = frame.pivot_table(index=keys, columns="metric", values="value").reset_index()
    gaps = [
        wide[keys].assign(metric=name, value=wide[gen] - wide[real]).dropna(subset=["value"])
        for name, gen, real in MSSSIM_GAPS
        if gen in wide and real in wide
    ]
    return pd.concat([frame, *(gap[COLUMNS] for gap in gaps)], ignore_index=True)


def _without_one_class_agreement(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` less the class agreement of one-class runs (uncond, labels NMI 0 in every round): such a
    G has no classes to follow (files made before the evaluator skipped them hold a value)."""
    nmi = frame[frame["metric"] == "labels_nmi"].groupby("run")["value"].max()
    one_class = set(nmi[nmi == 0].index)
    drop = frame["run"].isin(one_class) & frame["metric"].str.startswith("clf_class_agreement")
    return frame[~drop]


def digits_section(frame: pd.DataFrame) -> str:
    """A config's digits runs (configs/images.yaml, config.yaml): final round, mean ± standard error over seeds."""
    frame = frame[frame["dataset"] == "digits"] if len(frame) else frame
    if not len(frame):
        return "Not run yet."
    summary = summarise(final_round(with_trained_labels_purity(_without_one_class_agreement(_with_msssim_gap(frame)))))
    by_truth = DIGITS_TRUTH_METRICS if DIGITS_TRUTH_METRICS[0][0] in set(frame["metric"]) else []
    metrics = DIGITS_METRICS + by_truth
    header = "| run | seeds | " + " | ".join(h for _, h in metrics) + " |"
    lines = [header, "| --- | --- |" + " --- |" * len(metrics)]
    for run in sorted(frame["run"].unique()):
        row = _our_cells(summary, run, metrics)
        lines.append(f"| `{run}` | {_seeds_text(frame, run)} | " + " | ".join(row) + " |")
    lines += [
        "",
        "Final round, mean ± standard error over the seeds shown (no ± with one seed). Labels NMI: the "
        "run's last labels against the digit classes (round 0's, the ground truth or one class, for "
        "fixed-label methods). Gap: generated minus real, per seed (the bar: at most 0.1). "
        "Class agreement: the share of samples the evaluator reads as their class's dominant digit, beside "
        "the purity of the labels G was trained on (round r's model trains on round r-1's labels; a G that "
        "follows its classes reaches about that purity; – for runs evaluated before the metric existed)."
        + (
            " By digit: generated samples grouped by the digit the evaluator reads, real digits by their "
            "true class (docs/metrics.md); gap by digit likewise."
            if by_truth
            else ""
        ),
    ]
    return "\n".join(lines)


# Same paper, Table 2 (Stacked MNIST), as printed: modes, reverse KL; mean ± standard error over five trials.
PAPER_TABLE2_TRIALS = 5
PAPER_TABLE2 = {
    "smnist-uncond": ("133.4 ± 17.70", "2.97 ± 0.216"),
    "smnist-random": ("240.0 ± 12.02", "2.90 ± 0.192"),
    "smnist-online": ("995.8 ± 0.86", "0.17 ± 0.027"),
    "smnist-selfcond-supinit": ("1000.0 ± 0.00", "0.08 ± 0.014"),
    "smnist-selfcond": ("1000.0 ± 0.00", "0.08 ± 0.009"),
    "smnist-cgan": ("1000.0 ± 0.00", "0.08 ± 0.003"),
}
SMNIST_METRICS = [
    ("clf_modes_10k", "modes (of 1,000)"),
    ("clf_reverse_kl_10k", "reverse KL"),
    ("msssim_w3_64px_gen_intra", "MS-SSIM generated"),
    ("labels_nmi", "labels NMI"),
]


def smnist_section(frame: pd.DataFrame) -> str:
    """configs/images.yaml's Stacked-MNIST pair beside the paper's Table 2 rows (final round)."""
    frame = frame[frame["dataset"] == "smnist"] if len(frame) else frame
    summary = summarise(final_round(frame)) if len(frame) else pd.DataFrame(columns=["run", "metric"])
    header = "| method | source | seeds | " + " | ".join(h for _, h in SMNIST_METRICS) + " |"
    lines = [header, "| --- | --- | --- |" + " --- |" * len(SMNIST_METRICS)]
    for method, name in (("uncond", "GAN"), ("selfcond", "Self-conditioned (k = 100)")):
        paper = list(PAPER_TABLE2[f"smnist-{method}"]) + ["–"] * (len(SMNIST_METRICS) - 2)
        lines.append(f"| {name} | paper, Table 2 | {PAPER_TABLE2_TRIALS} | " + " | ".join(paper) + " |")
        run = f"smnist-{method}"
        if len(frame) and run in set(frame["run"]):
            ours = _our_cells(summary, run, SMNIST_METRICS)
            lines.append(f"| {name} | ours (`{run}`) | {_seeds_text(frame, run)} | " + " | ".join(ours) + " |")
        else:
            lines.append(f"| {name} | ours (`{run}`) | not run yet |" + " |" * len(SMNIST_METRICS))
    lines += [
        "",
        "Ours: final round, mean ± standard error over the seeds shown (no ± with one seed); modes and reverse "
        "KL from the evaluator classifier read per channel on 10,000 samples. Paper: five trials as printed. "
        "– = no value.",
    ]
    return "\n".join(lines)


# Table 2's rows in its order: (the paper's row, its name, configs/stacked-mnist.yaml's runs for it). The
# class-conditional row has two: the paper's D (one logit per class) and our cgan's projection D.
TABLE2_ROWS = [
    ("smnist-uncond", "GAN", ("smnist-uncond",)),
    ("smnist-random", "Random Labels", ("smnist-random",)),
    ("smnist-online", "Online Clustering", ("smnist-online",)),
    ("smnist-selfcond-supinit", "Ours + Supervised Init.", ("smnist-selfcond-supinit",)),
    ("smnist-selfcond", "Our Method", ("smnist-selfcond",)),
    ("smnist-cgan", "Class-conditional GAN", ("smnist-cgan-heads", "smnist-cgan")),
]
TABLE2_METRICS = [
    ("clf_modes_10k", "modes (of 1,000)"),
    ("clf_reverse_kl_10k", "reverse KL (nats)"),
    ("clf_reverse_kl_log10_10k", "reverse KL (log10)"),
    ("clf_class_agreement_10k", "class agreement"),
    (TRAINED_PURITY, "purity of the labels G trained on"),
    ("labels_nmi", "last labels' NMI"),
    ("msssim_w3_64px_gen_intra", "MS-SSIM within G's classes"),
]
# The mode counter on real held-out triples (evaluator.csv, copied by `collect`): the row a perfect G reaches.
CEILING = [
    ("evaluator_ceiling_modes", "clf_modes_10k"),
    ("evaluator_ceiling_reverse_kl", "clf_reverse_kl_10k"),
    ("evaluator_ceiling_reverse_kl_log10", "clf_reverse_kl_log10_10k"),
]


def _ceiling_cells(folder: Path) -> tuple[list[str], str] | None:
    """The ceiling row's cells and the evaluator's accuracies, from ``folder``/evaluators/smnist.csv."""
    path = folder / "evaluators" / "smnist.csv"
    if not path.is_file():
        return None
    rows = pd.read_csv(path).set_index("metric")["value"]
    by_metric = {ours: format_mean_se(float(rows[theirs])) for theirs, ours in CEILING if theirs in rows}
    cells = [by_metric.get(m, "–") for m, _ in TABLE2_METRICS]
    digit, triple = rows.get("evaluator_test_accuracy"), rows.get("evaluator_triple_accuracy")
    return cells, f"{100 * digit:.1f} % of held-out digits and {100 * triple:.1f} % of held-out triples"


def table2_section(frame: pd.DataFrame, folder: Path | None = None) -> str:
    """configs/stacked-mnist.yaml: the paper's Table 2 rows (Stacked MNIST) beside ours, final round."""
    if len(frame):
        frame = with_trained_labels_purity(_without_one_class_agreement(frame))
    summary = summarise(final_round(frame)) if len(frame) else pd.DataFrame(columns=["run", "metric"])
    header = "| method | source | seeds | " + " | ".join(h for _, h in TABLE2_METRICS) + " |"
    lines = [header, "| --- | --- | --- |" + " --- |" * len(TABLE2_METRICS)]
    for paper_row, name, runs in TABLE2_ROWS:
        modes, kl = PAPER_TABLE2[paper_row]
        paper = [modes, "–", kl] + ["–"] * (len(TABLE2_METRICS) - 3)
        lines.append(f"| {name} | paper, Table 2 | {PAPER_TABLE2_TRIALS} | " + " | ".join(paper) + " |")
        for run in runs:
            if len(frame) and run in set(frame["run"]):
                ours = _our_cells(summary, run, TABLE2_METRICS)
                lines.append(f"| {name} | ours (`{run}`) | {_seeds_text(frame, run)} | " + " | ".join(ours) + " |")
            else:
                lines.append(f"| {name} | ours (`{run}`) | not run yet |" + " |" * len(TABLE2_METRICS))
    ceiling = _ceiling_cells(folder) if folder is not None else None
    if ceiling is not None:
        lines.append("| real triples (the ceiling) | the evaluator | – | " + " | ".join(ceiling[0]) + " |")
    lines += [
        "",
        "Ours: the model after the last phase, mean ± standard error over the seeds shown (no ± with one seed); "
        "modes and reverse KL of 10,000 samples read per channel by the Stacked-MNIST evaluator"
        + (f" (it reads {ceiling[1]})" if ceiling is not None else "")
        + ". Paper: five trials as printed; its reverse KL is in the log10 units of its code. Class agreement: "
        "the share of samples read as their class's most common triple, beside the purity of the labels G "
        "was trained on (round r's model trains on round r-1's labels). MS-SSIM within G's classes: of sample "
        "pairs of one class (1 = identical; for the one-class GAN, pairs of any samples). – = no value.",
    ]
    return "\n".join(lines)


def _tables_of(section: Callable[[pd.DataFrame], str]) -> Callable[[Path], str]:
    """A section made from the per-run files of a folder alone."""
    return lambda folder: section(load_results(folder))


# name -> (folder under docs/results, the section's text from that folder)
SECTIONS: dict[str, tuple[str, Callable[[Path], str]]] = {
    "paper-2d": ("paper-2d", _tables_of(table1_section)),
    "paper-2d-rounds": ("paper-2d", _tables_of(rounds_section)),
    "default-digits": ("default", _tables_of(digits_section)),
    "images-digits": ("images", _tables_of(digits_section)),
    "images-smnist": ("images", _tables_of(smnist_section)),
    "stacked-mnist": ("stacked-mnist", lambda folder: table2_section(load_results(folder), folder)),
}


def replace_section(text: str, name: str, body: str, doc: Path) -> str:
    """``text`` with the lines between NAME's begin and end markers replaced by ``body``."""
    begin, end = f"<!-- results_tables:{name} begin -->", f"<!-- results_tables:{name} end -->"
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise InputError(f"{doc}: needs exactly one '{begin}' line followed by one '{end}' line")
    head, rest = text.split(begin)
    _, tail = rest.split(end)
    return f"{head}{begin}\n{body}\n{end}{tail}"


def appendix_of(doc: Path) -> Path:
    """The appendix beside ``doc`` that may hold some of its sections: docs/results.md's is docs/results/appendix.md."""
    return doc.parent / doc.stem / "appendix.md"


def _holder(texts: dict[Path, str], name: str) -> Path:
    """The one file among ``texts`` that holds NAME's begin marker; refused when none or several do."""
    begin, end = f"<!-- results_tables:{name} begin -->", f"<!-- results_tables:{name} end -->"
    holders = [path for path, text in texts.items() if begin in text]
    if len(holders) > 1:
        raise InputError(f"{' and '.join(map(str, holders))} both hold '{begin}'; keep its section in one file")
    if not holders:
        files = " or ".join(map(str, texts))
        raise InputError(f"{files}: needs exactly one '{begin}' line followed by one '{end}' line")
    return holders[0]


def build(results: Path, doc: Path, appendix: Path | None = None) -> list[str]:
    """Rewrite every generated section from the files under ``results``, each in whichever of ``doc`` and
    ``appendix`` (default: ``appendix_of(doc)`` where it exists) holds its markers; return the section names.
    Nothing is written unless every section is found."""
    if not doc.is_file():
        raise InputError(f"{doc}: missing; it holds the prose and the section markers the tables go between")
    if appendix is not None and not appendix.is_file():
        raise InputError(f"{appendix}: missing; give the appendix that holds some of the section markers")
    texts = {path: path.read_text() for path in [doc, appendix or appendix_of(doc)] if path.is_file()}
    for name, (folder, make) in SECTIONS.items():
        where = _holder(texts, name)
        texts[where] = replace_section(texts[where], name, make(results / folder), where)
    for path, text in texts.items():
        with atomic_path(path) as tmp:
            tmp.write_text(text)
    return list(SECTIONS)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect", help="copy finished runs' per-round metrics under docs/results/")
    c.add_argument("results", type=Path, help="a config's results folder, e.g. results/paper-2d")
    c.add_argument("--to", type=Path, required=True, help="e.g. docs/results/paper-2d")
    b = sub.add_parser("build", help="rewrite the generated sections of docs/results.md and its appendix")
    b.add_argument("--results", type=Path, default=REPO / "docs" / "results")
    b.add_argument("--doc", type=Path, default=REPO / "docs" / "results.md")
    b.add_argument("--appendix", type=Path, help="default: DOC's appendix where it exists (docs/results/appendix.md)")
    a = p.parse_args(argv)
    try:
        if a.command == "collect":
            for path in collect(a.results, a.to):
                print(path)
        else:
            print(f"{a.doc}: rebuilt sections {', '.join(build(a.results, a.doc, a.appendix))}")
    except InputError as e:
        print(f"results_tables.py: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
