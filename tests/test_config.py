"""Config validation: defaults come from the schema, bad keys and values are named."""

from __future__ import annotations

import pytest

from conftest import REPO, relabelgan, snakemake, tiny_config, write_config
from relabelgan.config import ConfigError, load_config, resolve_config


def test_defaults_come_from_schema_and_defaults_block():
    cfg = resolve_config(tiny_config())
    run = cfg["runs"]["grid-selfcond"]
    assert run["iters_per_phase"] == 20  # from the config's `defaults:` block
    assert run["init"] == "warm" and run["match"] == "hungarian"  # from the schema
    assert run["kmeans"] == {"backend": "auto", "n_init": 2, "subset": 500, "max_iter": 300}


def test_run_keys_override_defaults():
    cfg = tiny_config()
    cfg["runs"]["grid-selfcond"]["rounds"] = 5
    assert resolve_config(cfg)["runs"]["grid-selfcond"]["rounds"] == 5
    assert resolve_config(cfg)["runs"]["grid-uncond"]["rounds"] == 2


@pytest.mark.parametrize(
    "mutate, needle",
    [
        (lambda c: c["runs"]["grid-selfcond"].update(method="bogus"), "runs.grid-selfcond.method"),
        (lambda c: c["runs"]["grid-selfcond"].update(k=0), "runs.grid-selfcond.k"),
        (lambda c: c["runs"]["grid-selfcond"].update(unknown_key=1), "unknown_key"),
        (lambda c: c["datasets"]["grid"].update(kind="imagenet"), "datasets.grid.kind"),
        (lambda c: c["runs"]["grid-selfcond"].update(init="sometimes"), "runs.grid-selfcond.init"),
        (lambda c: c["runs"]["grid-selfcond"].update(dataset="nope"), "runs.grid-selfcond.dataset"),
    ],
)
def test_bad_values_are_named(mutate, needle):
    cfg = tiny_config()
    mutate(cfg)
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
        resolve_config(cfg)


def test_default_config_is_valid():
    cfg = load_config(REPO / "config.yaml")
    assert {"ring", "grid", "digits"} <= set(cfg["datasets"])
    assert any(r["method"] == "selfcond" and r["dataset"] == "grid" for r in cfg["runs"].values())


def test_snakemake_refuses_bad_config(tmp_path):
    cfg = tiny_config()
    cfg["runs"]["grid-selfcond"]["match"] = "greedy"
    write_config(tmp_path, cfg)
    proc = snakemake(tmp_path, "-n", check=False)
    assert proc.returncode != 0
    assert "runs.grid-selfcond.match" in proc.stdout + proc.stderr


def test_cli_resolve_reports_missing_run(tmp_path):
    path = write_config(tmp_path, tiny_config())
    proc = relabelgan("resolve", "--config", str(path), "--run", "nope", "--seed", "0", "--out", str(tmp_path / "x.yaml"), check=False)
    assert proc.returncode == 2
    assert "'nope'" in proc.stderr
