"""The label audit on hand-made labels.h5 files with known moves, splits and merges; lineage figures;
the HTML report of the tiny workflow."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, relabelgan, snakemake

from relabelgan.audit import load_rounds, moved_samples, sample_history, split_merge_events, transition_matrix
from relabelgan.core.artifacts import LabelRound, write_labels
from relabelgan.lineage import flow_figure, sizes_figure, split_tree_figure, transitions_figure


def _round(path: Path, rnd: int, labels, parent, sample_index=None) -> str:
    labels = np.asarray(labels)
    sample_index = np.arange(len(labels)) if sample_index is None else np.asarray(sample_index)
    k = len(parent)
    write_labels(
        path, LabelRound(labels, np.asarray(parent), np.zeros((k, 2), np.float32), sample_index, {"round": rnd})
    )
    return str(path)


@pytest.fixture
def three_rounds(tmp_path) -> list[str]:
    """Samples 0..7. Round 0: {0-3} {4-7}. Round 1: class 0 splits into 0 {0,1} and 1 {2,3} (parent
    records it); class 1 becomes 2. Round 2: 0 and 1 merge into 0; class 1 is left empty.
    Round 2 is stored in reverse sample order, so matching must go through sample_index."""
    r0 = _round(tmp_path / "r0.h5", 0, [0, 0, 0, 0, 1, 1, 1, 1], [-1, -1])
    r1 = _round(tmp_path / "r1.h5", 1, [0, 0, 1, 1, 2, 2, 2, 2], [0, 0, 1])
    r2_labels = np.array([0, 0, 0, 0, 2, 2, 2, 2])
    r2 = _round(tmp_path / "r2.h5", 2, r2_labels[::-1], [0, -1, 2], sample_index=np.arange(8)[::-1])
    return [r2, r0, r1]  # any order: rounds are sorted by their 'round' attribute


def test_rounds_are_ordered_and_aligned_by_sample_index(three_rounds):
    rounds = load_rounds(three_rounds)
    assert [r.attrs["round"] for r in rounds] == [0, 1, 2]
    m = transition_matrix(rounds[1], rounds[2])
    assert m.tolist() == [[2, 0, 0], [2, 0, 0], [0, 0, 4]]


def test_where_did_sample_i_go(three_rounds):
    rounds = load_rounds(three_rounds)
    h = sample_history(rounds, 3)
    assert h["label"].tolist() == [0, 1, 0]
    assert h["cluster_size"].tolist() == [4, 2, 4]
    assert h["parent"].tolist() == [-1, 0, 0]
    assert sample_history(rounds, 6)["label"].tolist() == [1, 2, 2]


def test_which_samples_moved(three_rounds):
    r0, r1, r2 = load_rounds(three_rounds)
    first = moved_samples(r0, r1)
    assert sorted(first["sample"]) == [2, 3, 4, 5, 6, 7]
    assert set(zip(first["from"], first["to"], strict=False)) == {(0, 1), (1, 2)}
    second = moved_samples(r1, r2)
    assert sorted(second["sample"]) == [2, 3]
    assert set(zip(second["from"], second["to"], strict=False)) == {(1, 0)}


def test_which_classes_split_or_merged(three_rounds, tmp_path):
    r0, r1, r2 = load_rounds(three_rounds)
    e01 = split_merge_events(r0, r1)
    assert e01[["event", "cluster", "into_or_from", "evidence"]].values.tolist() == [["split", 0, "0 1", "parent"]]
    e12 = split_merge_events(r1, r2)
    assert e12[["event", "cluster", "into_or_from"]].values.tolist() == [["merge", 0, "0 1"]]
    # A relabeling that only renames classes (new = perm[old]) is neither a split nor a merge.
    perm = np.array([2, 0, 1])
    renamed = _round(tmp_path / "renamed.h5", 2, perm[r1.labels], np.argsort(perm))
    assert split_merge_events(r1, load_rounds([renamed])[0]).empty


def test_split_found_from_overlap_alone(tmp_path):
    a = _round(tmp_path / "a.h5", 0, [0] * 6 + [1] * 6, [-1, -1])
    # Class 0's samples spread over new 0 (3), 1 (2) and 2 (1 = 1/6 < min share 0.2); no parent record.
    # New class 2 takes 1 of 7 members from old 0 (< 0.2): not a merge.
    b = _round(tmp_path / "b.h5", 1, [0, 0, 0, 1, 1, 2] + [2] * 6, [-1, -1, -1])
    events = split_merge_events(*load_rounds([a, b]))
    assert events[["event", "cluster", "into_or_from", "evidence"]].values.tolist() == [["split", 0, "0 1", "overlap"]]


@pytest.mark.parametrize("parent", [[0, 1, 2], [-1, -1, -1]], ids=["identity-parents", "no-parents"])
def test_swapped_ids_are_a_relabelling_not_splits_or_moves(tmp_path, parent):
    """Classes 0 and 1 swap ids, no sample changes group: no split, no merge, no "8 of 12 moved"."""
    a = _round(tmp_path / "a.h5", 0, [0] * 4 + [1] * 4 + [2] * 4, [-1, -1, -1])
    b = _round(tmp_path / "b.h5", 1, [1] * 4 + [0] * 4 + [2] * 4, parent)
    assert split_merge_events(*load_rounds([a, b])).empty
    summary = relabelgan("audit", a, b).stdout
    assert "round 0 -> 1: relabelled 0<->1 (a permutation of ids), no sample changed group" in summary, summary
    assert "moved" not in summary and "split" not in summary and "merged" not in summary, summary
    events = relabelgan("audit", "--events", "--out-dir", str(tmp_path / "audit"), a, b).stdout
    assert "split" not in events and pd.read_csv(tmp_path / "audit" / "events.csv").empty


def test_real_split_beside_a_swap_is_still_reported(tmp_path):
    """Old 0 splits into new 0 and 1 while old 1 takes id 2: the split stands, with either parents record."""
    a = _round(tmp_path / "a.h5", 0, [0] * 6 + [1] * 6, [-1, -1])
    for parent in ([0, 0, 1], [-1, -1, -1]):
        b = _round(tmp_path / "b.h5", 1, [0] * 3 + [1] * 3 + [2] * 6, parent)
        events = split_merge_events(*load_rounds([a, b]))
        assert events[["event", "cluster", "into_or_from"]].values.tolist() == [["split", 0, "0 1"]], parent
        summary = relabelgan("audit", a, b).stdout
        assert "9 of 12 samples moved" in summary and "class 0 split into 0 1" in summary, summary
        assert "permutation" not in summary


def test_identity_parents_do_not_turn_a_move_into_a_split(tmp_path):
    """Parents [0, 1] (ids kept) while old 0 mostly went to new 1: one child in the overlap, no split."""
    a = _round(tmp_path / "a.h5", 0, [0] * 5 + [1] * 5, [-1, -1])
    b = _round(tmp_path / "b.h5", 1, [1] * 5 + [1] * 5, [0, 1])
    events = split_merge_events(*load_rounds([a, b]))
    assert "split" not in events["event"].tolist()


def test_audit_cli_answers_and_writes_tables(three_rounds, tmp_path):
    out = relabelgan("audit", "--sample", "3", *three_rounds).stdout
    assert re.search(r"^\s*1\s+3\s+1\s+2\s+0\s*$", out, re.M), out  # round 1: sample 3 in class 1 (size 2, parent 0)
    moved = relabelgan("audit", "--moved", "1", *three_rounds).stdout
    assert len([line for line in moved.splitlines()[1:] if line.strip()]) == 2
    summary = relabelgan("audit", "--out-dir", str(tmp_path / "audit"), *three_rounds).stdout
    assert "round 0 -> 1: 6 of 8 samples moved" in summary
    assert "class 0 split into 0 1 (parent)" in summary and "class 0 merged from 0 1" in summary
    assert len(pd.read_csv(tmp_path / "audit" / "moves.csv")) == 8
    assert pd.read_csv(tmp_path / "audit" / "transitions.csv")["count"].sum() == 16
    assert len(pd.read_csv(tmp_path / "audit" / "events.csv")) == 2


def test_audit_cli_bad_input_names_the_problem(three_rounds, tmp_path):
    bad = relabelgan("audit", "--moved", "5", *three_rounds, check=False)
    assert bad.returncode != 0 and "rounds 5 and 6" in bad.stderr
    broken = tmp_path / "broken.h5"
    broken.write_bytes(b"not hdf5")
    proc = relabelgan("audit", str(broken), *three_rounds, check=False)
    assert proc.returncode == 2 and "broken.h5" in proc.stderr


def test_audit_given_a_checkpoint_says_so_and_never_advises_deleting_it(three_rounds, tmp_path):
    import torch

    model = tmp_path / "model.pt"
    torch.save({"G": {"w": torch.ones(3)}, "step": 7}, model)
    assert model.read_bytes()[:4] == b"PK\x03\x04"  # torch's zip format
    proc = relabelgan("audit", str(model), *three_rounds, check=False)
    assert proc.returncode == 2, proc.stderr
    assert f"{model} is a model checkpoint (model.pt), not a labels.h5/features.h5" in proc.stderr, proc.stderr
    assert "give the round's labels.h5" in proc.stderr and "Delete" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    # A damaged labels.h5 (HDF5 signature, truncated body) still gets the delete-and-rebuild advice.
    damaged = tmp_path / "damaged.h5"
    data = Path(three_rounds[0]).read_bytes()
    damaged.write_bytes(data[: len(data) // 2])
    proc = relabelgan("audit", str(damaged), *three_rounds, check=False)
    assert proc.returncode == 2 and "damaged.h5: not a readable HDF5 file" in proc.stderr
    assert "Delete it and rerun" in proc.stderr


def test_audit_refuses_labels_of_two_runs(tmp_path):
    """Files of another run (or another sample set) are refused by name, not silently mixed."""

    def labels(name: str, rnd: int, run: str, n: int = 8) -> str:
        path = tmp_path / name
        write_labels(
            path,
            LabelRound(
                np.zeros(n, int),
                np.array([-1]),
                np.zeros((1, 2), np.float32),
                np.arange(n),
                {"round": rnd, "run": run, "seed": 0},
            ),
        )
        return str(path)

    a0, a1, b1 = (
        labels("a0.h5", 0, "grid-selfcond"),
        labels("a1.h5", 1, "grid-selfcond"),
        labels("b1.h5", 1, "ring-selfcond"),
    )
    assert len(load_rounds([a0, a1])) == 2
    proc = relabelgan("audit", a0, b1, check=False)
    assert proc.returncode == 2 and "b1.h5: run 'ring-selfcond'" in proc.stderr and "a0.h5" in proc.stderr
    short = labels("s1.h5", 1, "grid-selfcond", n=5)
    proc = relabelgan("audit", a0, short, check=False)
    assert proc.returncode == 2 and "s1.h5: labels 5 samples" in proc.stderr


def test_lineage_figures_draw_from_hand_made_rounds(three_rounds, tmp_path):
    rounds = load_rounds(three_rounds)
    for draw, name in (
        (flow_figure, "flow"),
        (transitions_figure, "t"),
        (sizes_figure, "s"),
        (split_tree_figure, "tree"),
    ):
        draw(rounds, str(tmp_path / f"{name}.png"))
        assert (tmp_path / f"{name}.png").stat().st_size > 1000


def test_every_report_caption_exists():
    rules = "\n".join(p.read_text() for p in (REPO / "workflow" / "rules").glob("*.smk"))
    captions = set(re.findall(r'caption=f?"\.\./report/([^"{]+)"', rules))
    captions |= set(re.findall(r'"([a-z_]+\.rst)"', rules))
    assert len(captions) >= 10
    for name in captions:
        assert (REPO / "workflow" / "report" / name).read_text().strip(), name
    # Every report() call names a caption.
    assert rules.count("report(") == rules.count("caption=")


@pytest.mark.e2e
def test_workflow_audit_lineage_tables_and_html_report(tiny_run):
    res = tiny_run / "results"
    run = res / "grid-selfcond" / "seed0"
    events = pd.read_csv(run / "audit" / "events.csv")
    assert set(events.columns) >= {"event", "cluster", "round_from"}
    assert pd.read_csv(run / "audit" / "transitions.csv")["count"].sum() == 2 * 1000  # 2 round pairs x 1000 samples
    for name in ("flow", "transitions", "sizes", "split_tree", "clusters"):
        assert (run / "lineage" / f"{name}.png").stat().st_size > 1000
    metrics = pd.read_csv(res / "metrics.csv")
    names = set(metrics["metric"])
    assert {
        "labels_nmi",
        "labels_purity",
        "labels_accuracy",
        "clf_modes_1k",
        "clf_frechet_1k",
        "clf_class_agreement_1k",
    } <= names
    # Final-round image metrics (nearest neighbours, FID/IS) are made for image datasets only.
    assert "nn_ratio_1k" not in names and not (run / "final_metrics.csv").exists()
    acc = pd.read_csv(res / "evaluators" / "grid" / "evaluator.csv")
    assert acc.loc[0, "value"] > 0.9
    md = (res / "tables" / "comparison_grid.md").read_text()
    assert "| grid-selfcond | selfcond |" in md and "test accuracy" in md
    snakemake(tiny_run, "--report", "report.html")
    html = (tiny_run / "report.html").read_text(errors="replace")
    # The captions reach the report, with the wildcards filled in.
    for caption in (
        "Label flow of run grid-selfcond, seed 0",
        "Evaluator classifier of dataset grid",
        "Transition heatmaps of run grid-selfcond",
        "runs at their final round",
    ):
        assert caption in html, caption


def test_moved_between_identical_rounds_says_so_in_a_sentence(tmp_path):
    a = _round(tmp_path / "a.h5", 0, [0, 0, 1, 1], [-1, -1])
    b = _round(tmp_path / "b.h5", 1, [0, 0, 1, 1], [0, 1])
    out = relabelgan("audit", "--moved", "0", a, b).stdout
    assert out.strip() == "no sample of 4 changed class" and "DataFrame" not in out
