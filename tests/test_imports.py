"""Steps that need no network run without importing torch: checked on their real code paths.

One fresh Python process runs, through the real CLI entry point (``relabelgan.cli.main``) and on
small real files (config.yaml, features.h5, labels.h5, a tidy metrics.csv and a phase's metrics record
made here): ``gather`` and ``audit``, then ``resolve``, ``metrics-table``, ``tables``, ``figures``, the four label-only lineage figures and
``relabel`` for every kind of round: k-means (round 0 and a warm, matched round 1, with the
labels' metrics), a class split, labels carried forward, round 0 from the ground truth stored in
features.h5 (acgan) and slcgan's argmax C(x) stored there by its phase. It then reports which heavy modules it
loaded. torch must be absent; scikit-learn and matplotlib must be absent after gather and audit,
which use neither. A later import that pulls torch back in fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from conftest import REPO, tiny_config, write_config

from relabelgan.core.artifacts import LabelRound, write_features, write_labels
from relabelgan.core.config import load_config, run_spec
from relabelgan.core.metrics_record import write_round_metrics

N = 300  # samples: small, but enough for k-means with k = 9 and a split above the threshold

CHILD = r"""
import json, sys
from pathlib import Path
from relabelgan.cli import main

work = Path(sys.argv[1])
def run(*argv):
    code = main([str(a) for a in argv])
    assert code == 0, f"relabelgan {argv[0]} exited {code}"

loaded = {}
def note(after):
    loaded[after] = sorted(m for m in ("torch", "sklearn", "matplotlib") if m in sys.modules)

run("gather", "--out", work / "metrics.csv", work / "m0.csv", work / "m1.csv")
run("audit", "--out-dir", work / "audit", work / "k1.h5", work / "k0.h5")
run("audit", "--sample", 7, work / "k0.h5", work / "k1.h5")
note("gather+audit")
run("resolve", "--config", work / "config.yaml", "--run", "grid-selfcond", "--seed", 0, "--out", work / "run.yaml")
run("tables", "--metrics", work / "metrics.csv", "--dataset", "grid", "--out-csv", work / "t.csv",
    "--out-md", work / "t.md", "--out-png", work / "t.png")
run("figures", "--metrics", work / "metrics.csv", "--dataset", "grid", "--out", work / "f.png")
from relabelgan.lineage import lineage_figures  # the lineage command's label-only part
lineage_figures([str(work / "k0.h5"), str(work / "k1.h5")], str(work / "lineage"))
spec = ("--spec", work / "run.yaml")
run("metrics-table", *spec, "--round", 1, "--record", work / "r1.json", "--out", work / "mt1.csv")
run("relabel", *spec, "--round", 0, "--features", work / "f0.h5", "--out", work / "l0.h5")
run("relabel", *spec, "--round", 1, "--features", work / "f1.h5", "--previous", work / "l0.h5", "--out", work / "l1.h5",
    "--metrics", work / "q1.csv")
split = ("--spec", work / "split.yaml")
run("relabel", *split, "--round", 1, "--features", work / "f1.h5", "--previous", work / "one.h5", "--out", work / "s1.h5")
run("relabel", *split, "--round", 2, "--features", work / "f1.h5", "--previous", work / "s1.h5", "--out", work / "s2.h5")
run("relabel", "--spec", work / "acgan.yaml", "--round", 0, "--features", work / "f1.h5", "--out", work / "a0.h5")
run("relabel", "--spec", work / "slc.yaml", "--round", 0, "--features", work / "f1.h5", "--out", work / "c0.h5")
note("all")
print(json.dumps(loaded))
"""


def _inputs(tmp_path: Path) -> None:
    """Config, run specs, features, labels and per-round metric files the child process reads."""
    cfg = tiny_config()
    cfg["datasets"]["grid"]["n"] = N
    cfg["runs"]["grid-split"] = {
        "dataset": "grid",
        "method": "splitting",
        "schedule": "unsupervised",
        "split_rounds": [1],
        "split_threshold": 100,
    }
    write_config(tmp_path, cfg)
    config = load_config(tmp_path / "config.yaml")
    # A phase's metrics record, which `metrics-table` turns into the round's metrics.csv.
    write_round_metrics(run_spec(config, "grid-selfcond", 0), 1, {"modes_1k": 9.0}, str(tmp_path / "r1.json"))
    (tmp_path / "split.yaml").write_text(yaml.safe_dump(run_spec(config, "grid-split", 0)))
    for name, method in (("acgan", "acgan"), ("slc", "slcgan")):
        spec = {**run_spec(config, "grid-selfcond", 0), "method": method, "name": "grid-selfcond"}
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(spec))
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(9, 4)) * 5
    for r in (0, 1):
        truth = rng.integers(0, 9, N)
        x = centres[truth] + rng.normal(scale=0.3 + r, size=(N, 4))
        # As a phase writes them: ground truth and (slcgan) argmax C(x) beside the features.
        write_features(
            tmp_path / f"f{r}.h5",
            x.astype(np.float32),
            N,
            4,
            np.arange(N),
            {"round": r, "truth_classes": 9, "clusterer_classes": 9},
            columns={"truth": truth, "assigned": (truth + 1) % 9},
        )
    write_labels(tmp_path / "one.h5", LabelRound(np.zeros(N, int), [-1], np.zeros((1, 0)), np.arange(N), {"round": 0}))
    for r in (0, 1):
        labels = rng.integers(0, 5, N)
        write_labels(
            tmp_path / f"k{r}.h5", LabelRound(labels, np.full(5, -1), np.zeros((5, 0)), np.arange(N), {"round": r})
        )
        rows = [
            {
                "run": run,
                "dataset": "grid",
                "method": run.split("-")[1],
                "seed": 0,
                "round": r,
                "metric": "modes_1k",
                "value": float(v),
            }
            for run, v in (("grid-selfcond", 8 + r), ("grid-uncond", 5))
        ]
        pd.DataFrame(rows).to_csv(tmp_path / f"m{r}.csv", index=False)


def test_torch_free_steps_do_not_import_torch(tmp_path):
    _inputs(tmp_path)
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded["gather+audit"] == [], f"gather/audit loaded {loaded['gather+audit']}"
    assert "torch" not in loaded["all"], "a torch-free step imported torch; see which with `python -X importtime`"
    # The steps did their work: k-means labels, a split, a carried-forward round, figures and tables.
    assert {"sklearn", "matplotlib"} <= set(loaded["all"])
    from relabelgan.core.artifacts import read_feature_column, read_labels

    l1 = read_labels(tmp_path / "l1.h5")
    assert l1.k == 9 and l1.attrs["match"] == "hungarian"
    s1, s2 = read_labels(tmp_path / "s1.h5"), read_labels(tmp_path / "s2.h5")
    assert s1.k == 2 and np.array_equal(s1.labels, s2.labels)
    truth, assigned = (read_feature_column(tmp_path / "f1.h5", c) for c in ("truth", "assigned"))
    assert np.array_equal(read_labels(tmp_path / "a0.h5").labels, truth)
    assert np.array_equal(read_labels(tmp_path / "c0.h5").labels, assigned)
    assert pd.read_csv(tmp_path / "mt1.csv").set_index("metric")["value"].to_dict() == {"modes_1k": 9.0}
    quality = pd.read_csv(tmp_path / "q1.csv").set_index("metric")["value"]
    assert {"labels_nmi", "labels_purity"} <= set(quality.index) and 0 < quality["labels_nmi"] <= 1
    for name in ("t.md", "t.png", "f.png", "audit/events.csv", "lineage/flow.png", "lineage/split_tree.png"):
        assert (tmp_path / name).stat().st_size > 0, name


def test_the_workflow_imports_no_torch():
    """What workflow/rules/*.smk import (config, the method registry, the FID protocol's file name) is
    loaded by every snakemake start, `-n` included: it must not pull torch in."""
    imports = sorted(
        {
            line.strip()
            for smk in (REPO / "workflow" / "rules").glob("*.smk")
            for line in smk.read_text().splitlines()
            if line.startswith(("from relabelgan", "import relabelgan"))
        }
    )
    assert imports, "the workflow imports nothing from relabelgan?"
    code = "\n".join(imports) + "\nimport sys\nprint('torch' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "False", f"the workflow's imports load torch: {imports}"
