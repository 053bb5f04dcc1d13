"""`relabelgan install-profile slurm`: the user profile behind `snakemake --profile slurm` (issue 11).

The SLURM run through it is tests/test_slurm.py; here, what it writes and that it never clobbers a profile.
"""

from __future__ import annotations

import yaml
from conftest import relabelgan


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
