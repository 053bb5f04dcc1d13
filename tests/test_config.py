"""Config validation: defaults come from the schema, bad keys and values are named."""

from __future__ import annotations

import os
import re

import pytest
import yaml
from conftest import REPO, relabelgan, snakemake, tiny_config, write_config

from relabelgan.core.config import SCHEMA_PATH, ConfigError, load_config, resolve_config


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
        # Caught at resolve time, not by a failing k-means job a phase later.
        (
            lambda c: c["runs"]["grid-uncond"].update(method="random", k=1001),
            "runs.grid-uncond.k is 1001, more than the 1000 samples",
        ),
        (lambda c: c["runs"]["grid-selfcond"].update(k=501), "runs.grid-selfcond.k is 501, more than kmeans.subset"),
        # An unknown key under `defaults` is named there, not in a run it was merged into.
        (lambda c: c["defaults"].update(iters_per_phaze=3), "defaults.iters_per_phaze is not a run key"),
        # So is a bad value set there, nested ones too; a run's own value is named in the run.
        (lambda c: c["defaults"].update(eval_samples=5), "invalid value at 'defaults.eval_samples'"),
        (lambda c: c["defaults"]["kmeans"].update(n_init=0), "invalid value at 'defaults.kmeans.n_init'"),
        (lambda c: c["runs"]["grid-uncond"].update(eval_samples=7), "invalid value at 'runs.grid-uncond.eval_samples'"),
        (lambda c: c.clear(), "holds no settings"),
        (
            lambda c: c["runs"]["grid-selfcond"].update(fid=True),
            "runs.grid-selfcond.fid is true, but FID/IS need images",
        ),
        # d_conditioning chooses among what the method trains with (cgan: projection or heads).
        (
            lambda c: c["runs"]["grid-selfcond"].update(d_conditioning="projection"),
            "runs.grid-selfcond.d_conditioning is 'projection', but method 'selfcond' trains with 'heads'",
        ),
        # BatchNorm in D: the DCGAN body only, and never in a WGAN-GP critic.
        (
            lambda c: c["runs"]["grid-selfcond"].update(d_norm="batch"),
            "runs.grid-selfcond.d_norm is 'batch', which only the dcgan and dcgan_shallow D have",
        ),
        (
            lambda c: (
                c["datasets"].update(digits={"kind": "digits"}),
                c["runs"]["grid-selfcond"].update(
                    dataset="digits", method="splitting", d_norm="batch", arch="dcgan", k=1
                ),
            ),
            "runs.grid-selfcond.d_norm is 'batch', but method 'splitting' trains a WGAN-GP critic",
        ),
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


def test_snakemake_names_the_config_file_it_refuses(tmp_path):
    cfg = tiny_config()
    cfg["defaults"]["log_evry"] = 5
    path = write_config(tmp_path, cfg)
    proc = snakemake(tmp_path, "-n", check=False)
    assert proc.returncode != 0
    assert f"{path}: defaults.log_evry is not a run key" in proc.stdout + proc.stderr


def test_config_overrides_keep_the_embedded_default(tmp_path):
    """`--config seeds=[...]` without --configfile overrides config.yaml's seeds rather than replacing the file."""
    import subprocess

    from conftest import BIN

    write_config(tmp_path, tiny_config())
    cmd = [
        str(BIN / "snakemake"),
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(tmp_path),
        "--cores",
        "1",
        "-n",
        "--quiet",
        "rules",
        "--config",
        "seeds=[0,1]",
    ]
    env = {**os.environ, "SLURM_CONF": "/dev/null"}  # a local run: conftest.snakemake says why
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = {
        x.split()[0]: int(x.split()[1])
        for x in proc.stdout.splitlines()
        if len(x.split()) == 2 and x.split()[1].isdigit()
    }
    assert counts["resolve"] == 2 * len(tiny_config()["runs"])  # every run of the file, for both seeds


def test_cli_resolve_reports_missing_run(tmp_path):
    path = write_config(tmp_path, tiny_config())
    proc = relabelgan(
        "resolve", "--config", str(path), "--run", "nope", "--seed", "0", "--out", str(tmp_path / "x.yaml"), check=False
    )
    assert proc.returncode == 2
    assert "'nope'" in proc.stderr


def test_cli_resolve_names_the_line_of_a_yaml_syntax_error(tmp_path):
    """A YAML typo is one line naming file:line:column, with exit 2, not PyYAML's 40-line traceback."""
    bad = tmp_path / "config.yaml"
    bad.write_text("seeds: [0]\nruns:\n  grid:\n    method: selfcond\n   dataset: grid\n")  # line 5 dedented
    out = tmp_path / "x.yaml"
    proc = relabelgan("resolve", "--config", str(bad), "--run", "x", "--seed", "0", "--out", str(out), check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"relabelgan resolve: error: {bad}:5:"), proc.stderr
    assert "not valid YAML (" in proc.stderr and "fix that line" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not out.exists()


@pytest.mark.e2e
def test_a_non_editable_install_loads_configs(tmp_path):
    """The schema ships inside the package: `pip install .` (not -e) resolves config.yaml too."""
    import os
    import subprocess
    import sys

    target = tmp_path / "site"
    pip = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--target",
        str(target),
        str(REPO),
    ]
    subprocess.run(pip, check=True, capture_output=True, timeout=600, cwd=tmp_path)
    probe = (
        f"import relabelgan.core.config as c; cfg = c.load_config({str(REPO / 'config.yaml')!r}); "
        f"print(c.SCHEMA_PATH.is_relative_to({str(target)!r}), len(cfg['runs']))"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert out.stdout.split()[0] == "True" and int(out.stdout.split()[1]) > 0


def test_the_schemas_enums_are_the_codes_registries():
    """One source of truth: every name the schema allows is one the code implements, and back."""
    from relabelgan.core.kmeans import BACKENDS
    from relabelgan.data.registry import KINDS
    from relabelgan.methods import METHODS
    from relabelgan.methods.splitting import NORMALISATIONS
    from relabelgan.networks import ARCHITECTURES

    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    run, dataset = schema["$defs"]["run"]["properties"], schema["$defs"]["dataset"]["properties"]
    assert set(run["method"]["enum"]) == set(METHODS)
    assert set(run["arch"]["enum"]) - {"auto"} == set(ARCHITECTURES)
    assert set(dataset["kind"]["enum"]) == set(KINDS) == set(schema["x-dataset-defaults"])
    for kind, defaults in schema["x-dataset-defaults"].items():  # per-kind defaults only for keys the schema has
        assert set(defaults) <= set(dataset), kind
    assert set(run["kmeans"]["properties"]["backend"]["enum"]) == set(BACKENDS)
    assert set(run["normalise"]["enum"]) == set(NORMALISATIONS)


def _renamed_dataset(config: dict, name: str) -> dict:
    config["datasets"][name] = config["datasets"].pop("grid")
    for run in config["runs"].values():
        run["dataset"] = name
    return config


@pytest.mark.parametrize(
    "mutate, needle",
    [
        (lambda c: _renamed_dataset(c, "../../../x/ds"), "invalid name under 'datasets': '../../../x/ds'"),
        (lambda c: _renamed_dataset(c, "my data"), "invalid name under 'datasets': 'my data'"),
        (lambda c: c.update(results="out/my results"), "'results': 'out/my results' is not a plain path"),
        (lambda c: c.update(results="r</script><script>alert(1)"), "is not a plain path"),
    ],
    ids=["traversal", "space", "results-space", "results-script"],
)
def test_names_and_paths_that_reach_the_shell_are_refused(mutate, needle):
    config = tiny_config()
    mutate(config)
    with pytest.raises(ConfigError, match=re.escape(needle)) as refused:
        resolve_config(config)
    assert "use letters, digits" in str(refused.value)


def test_a_dataset_name_with_backticks_runs_nothing(tmp_path):
    """Through the real snakemake: refused before any job, no file written, the command never run."""
    config = _renamed_dataset(tiny_config(), "a`touch pwned`b")
    write_config(tmp_path, config)
    proc = snakemake(tmp_path, check=False)
    assert proc.returncode != 0 and "invalid name under 'datasets': 'a`touch pwned`b'" in proc.stdout + proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".snakemake") == ["config.yaml"]
    assert not (tmp_path / "pwned").exists() and not (REPO / "pwned").exists()
