"""`relabelgan install-profile`: the user-level Snakemake profile that makes `--profile slurm` work as typed.

Snakemake looks a profile name up in ``$XDG_CONFIG_HOME/snakemake/NAME`` (``~/.config/snakemake/NAME``
when XDG_CONFIG_HOME is unset) and in /etc/xdg/snakemake, not in the workflow's folder. The user
profile holds what belongs to the user and the cluster (executor, account, partition, retries); the
workflow carries its per-rule resources itself (``resources:`` in the config, read by the rules), and
``profiles/default`` in the repository is the workflow profile Snakemake loads on its own.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from .core.artifacts import atomic_path

HEADER = """\
# Written by `relabelgan install-profile {name}`: used by `snakemake --cores N --profile {name}`.
# The workflow's per-rule resources (GPUs, memory, time) come from its config (`resources:`), so none are
# set here. Edit freely; `relabelgan install-profile {name} --force` rewrites this file.
"""


def user_profile_dir(name: str) -> Path:
    """Where Snakemake looks for a profile called ``name`` for this user."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "snakemake" / name


def slurm_profile(account: str | None, partition: str | None) -> dict:
    """The settings of a SLURM profile: the executor plugin, resubmission and the cluster's account/partition."""
    resources: dict = {"mem_mb": 2000, "runtime": 30}
    if partition:
        resources["slurm_partition"] = partition
    if account:
        resources["slurm_account"] = account
    return {
        "executor": "slurm",
        "jobs": 50,
        "retries": 2,  # a pre-empted phase is resubmitted and resumes from its resume.pt
        "rerun-incomplete": True,
        "keep-going": True,
        "printshellcmds": True,
        "slurm-requeue": True,
        "default-resources": resources,
    }


def install_profile(name: str, account: str | None, partition: str | None, force: bool) -> Path:
    """Write the user profile ``name`` (only 'slurm' exists); refuse to replace one unless ``force``."""
    if name != "slurm":
        raise ValueError(f"no profile {name!r} to install; available: slurm")
    path = user_profile_dir(name) / "config.yaml"
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists; keep it, or rewrite it with --force")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = HEADER.format(name=name) + yaml.safe_dump(slurm_profile(account, partition), sort_keys=False)
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path
