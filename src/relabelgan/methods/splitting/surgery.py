"""Class splitting (class-splitting GAN, Algorithm 1): the model surgery after a split, and the class tree.

Surgery (:func:`grow_checkpoint`), when a phase starts from labels with more classes than its
checkpoint: the networks are rebuilt for the grown class tree; each child's auxiliary-classifier
row and bias are copies of its parent's; the generator's new tree nodes get zero gain/bias
deltas, so every child generates exactly what its parent did. Adam moments are kept: every
unchanged tensor keeps its moments and step count, and every grown row takes its parent's row
of the moments (classifier rows of the parent class, delta rows of the parent node), so the
first steps after a split are on the scale the parent was already taking.

The relabel step that makes a split (2-means per class) is splitting.py, which needs no torch.
"""

from __future__ import annotations

from typing import Any

import torch

from ...core.artifacts import ArtifactError, LabelRound
from ...networks import build_networks
from ...networks.class_tree import ClassTree, node_table_names
from ...training.checkpoint import load_networks


def tree_from_rounds(rounds: list[LabelRound]) -> ClassTree:
    """The class tree made by a run's label rounds 0..r, read from their ``parent`` arrays alone."""
    if not rounds:
        raise ValueError("tree_from_rounds needs at least round 0's labels")
    tree = ClassTree.roots(rounds[0].k)
    for rnd in rounds[1:]:
        tree = tree.split(rnd.parent)
    return tree


def _gather_rows(tensors: dict[str, torch.Tensor], sources: dict[str, list[int]]) -> dict[str, torch.Tensor]:
    """Copy of ``tensors`` where each named tensor's rows are re-picked by ``sources[name]``."""
    return {name: t[sources[name]].clone() if name in sources else t for name, t in tensors.items()}


def _grow_adam(opt_state: dict | None, names: list[str], sources: dict[str, list[int]]) -> dict | None:
    """Adam state for the grown parameters: grown rows take their source row's moments."""
    if opt_state is None:
        return None
    state = {}
    for idx, entry in opt_state["state"].items():
        name = names[int(idx)]
        state[idx] = {
            key: (value[sources[name]].clone() if name in sources and value.dim() > 0 else value)
            for key, value in entry.items()
        }
    return {"state": state, "param_groups": opt_state["param_groups"]}


def grow_checkpoint(state: dict[str, Any], labels: LabelRound) -> dict[str, Any]:
    """The checkpoint ``state`` after the split that made ``labels`` (see the module docstring).

    Raises ArtifactError when the checkpoint has no class tree or the labels' ``parent``
    does not describe a split of its classes.
    """
    arch = state["arch"]
    if "class_tree" not in arch:
        raise ArtifactError(
            "the checkpoint has no class tree (arch['class_tree']); it was not made by method 'splitting'"
        )
    old_tree = ClassTree.from_record(arch["class_tree"])
    try:
        new_tree = old_tree.split(labels.parent)
    except ValueError as e:
        raise ArtifactError(f"labels 'parent' is not a split of the checkpoint's {old_tree.k} classes: {e}") from e
    new_arch = {**arch, "n_classes": new_tree.k, "class_tree": new_tree.to_record()}
    G_old, D_old = load_networks(state)
    G_new, D_new = build_networks(new_arch)

    old_nodes = old_tree.n_nodes
    node_source = list(range(old_nodes)) + new_tree.node_parent[old_nodes:]
    g_sources = {name: node_source for name in node_table_names(G_old)}
    d_sources = {"cls.weight": labels.parent.tolist(), "cls.bias": labels.parent.tolist()}

    g_weights = _gather_rows(G_old.state_dict(), g_sources)
    for name in g_sources:
        g_weights[name][old_nodes:] = 0.0  # a new node's delta starts at 0: child = parent
    G_new.load_state_dict(g_weights)
    D_new.load_state_dict(_gather_rows(D_old.state_dict(), d_sources))

    g_names = [n for n, _ in G_new.named_parameters()]
    d_names = [n for n, _ in D_new.named_parameters()]
    optimizers = state.get("optimizers", {})
    return {
        **state,
        "arch": new_arch,
        "networks": {**state["networks"], "G": G_new.state_dict(), "D": D_new.state_dict()},
        "optimizers": {
            **optimizers,
            "G": _grow_adam(optimizers.get("G"), g_names, g_sources),
            "D": _grow_adam(optimizers.get("D"), d_names, d_sources),
        },
        "method_state": {**state.get("method_state", {}), "split_from_classes": old_tree.k},
    }
