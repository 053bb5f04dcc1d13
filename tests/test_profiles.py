"""`relabelgan install-profile slurm`: the user profile behind `snakemake --profile slurm`,
and how Snakemake merges the SLURM profiles with the workflow profile profiles/default.

The SLURM run through it is tests/test_slurm.py; here, what it writes and that it never clobbers a profile.
"""

from __future__ import annotations

import os

import pytest
import yaml
from conftest import REPO, relabelgan


def test_install_profile_writes_the_user_profile_and_never_clobbers_it(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    path = tmp_path / "xdg" / "snakemake" / "slurm" / "config.yaml"
    out = relabelgan("install-profile", "slurm", "--account", "my_lab", "--partition", "gpu")
    assert str(path) in out.stdout and "--profile slurm" in out.stdout
    profile = yaml.safe_load(path.read_text())
    assert profile["executor"] == "slurm" and profile["retries"] == 2
    assert profile["default-resources"]["slurm_account"] == "my_lab"
    assert profile["default-resources"]["slurm_partition"] == "gpu"
    assert "set-resources" not in profile  # per-rule resources come from the workflow's config

    path.write_text("executor: slurm\n# the user's edits\n")
    again = relabelgan("install-profile", "slurm", check=False)
    assert again.returncode == 2 and str(path) in again.stderr and "--force" in again.stderr
    assert "the user's edits" in path.read_text()
    relabelgan("install-profile", "slurm", "--force")
    assert "slurm_account" not in yaml.safe_load(path.read_text())["default-resources"]


def test_install_profile_falls_back_to_home_config(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    relabelgan("install-profile", "slurm")
    assert (tmp_path / ".config" / "snakemake" / "slurm" / "config.yaml").exists()


def _snakemake_settings(monkeypatch, *args: str):
    """The options Snakemake 9's own CLI parser makes of ``args`` plus the profiles it picks up."""
    from snakemake.cli import parse_args

    monkeypatch.setenv("SLURM_CONF", "/dev/null")  # no 9 s scontrol probe when the SLURM plugin loads
    monkeypatch.chdir(REPO)  # where users start snakemake, so profiles/default is applied
    _, args = parse_args(["--snakefile", str(REPO / "Snakefile"), "-n", *args])
    return args


@pytest.mark.parametrize("profile", ["repo", "installed"])
def test_slurm_profiles_keep_going_despite_the_workflow_profile(tmp_path, monkeypatch, profile):
    """profiles/default wins key by key over every --profile: it must not reset the SLURM profiles'
    keep-going (one failed job would stop a whole cluster run) or printshellcmds."""
    if profile == "installed":
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
        relabelgan("install-profile", "slurm")
        path = str(tmp_path / "xdg" / "snakemake" / "slurm")
    else:
        path = str(REPO / "profiles" / "slurm")
    slurm = _snakemake_settings(monkeypatch, "--profile", path)
    assert slurm.executor == "slurm" and slurm.retries == 2
    assert slurm.keep_going is True and slurm.printshellcmds is True
    assert slurm.show_failed_logs is True and slurm.cores == 2  # profiles/default was applied too
    local = _snakemake_settings(monkeypatch)
    assert local.executor is None and local.keep_going is False and local.show_failed_logs is True


def test_slurm_profile_without_slurm_commands_stops_in_one_line(tiny_workdir, tmp_path):
    """On a machine without SLURM's client, `--profile profiles/slurm` stops before any job, naming the
    missing commands (the plugin alone would fail each submission after its retries)."""
    import importlib.util
    import shutil

    from conftest import BIN, snakemake

    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        pytest.skip("the SLURM executor plugin (extra [slurm]) is not installed")
    bare = tmp_path / "bin"  # a PATH with the tools a run needs and none of SLURM's
    bare.mkdir()
    for tool in ("python", "snakemake", "relabelgan", "bash", "sh", "which", "cat", "env", "uname", "rm", "mkdir"):
        found = shutil.which(tool, path=f"{BIN}{os.pathsep}{os.environ['PATH']}")
        if found:
            (bare / tool).symlink_to(found)
    proc = snakemake(tiny_workdir, "--profile", str(REPO / "profiles" / "slurm"), check=False, env={"PATH": str(bare)})
    assert proc.returncode != 0
    assert "--profile slurm: sbatch, sinfo, sacct, squeue not found on PATH" in proc.stderr
    assert not (tiny_workdir / "results").exists()  # nothing ran, nothing was submitted
