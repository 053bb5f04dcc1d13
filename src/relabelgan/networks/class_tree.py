"""The class tree of the class-splitting GAN and the generator that conditions through it.

Every class ever created is a *node*; the current classes are *leaves*, each pointing at
its node. A split turns one leaf into two new nodes whose parent is the leaf's node; a
class that is not split keeps its node. The generator's conditional BatchNorm keeps one
gain and one bias row per node, and a class's gain (bias) is the sum of the rows along its
root-to-leaf path. Roots start at gain 1, bias 0; a new node's rows start at 0, so right
after a split each child generates exactly what its parent did (paper, Algorithm 1).

The tree is stored as two plain lists in the architecture record (``arch['class_tree']``),
so checkpoints keep loading with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
from torch import nn

from .conditional import Generator


@dataclass
class ClassTree:
    """``node_parent[n]``: parent node of node n (-1 for a root); ``leaf_node[c]``: node of class c."""

    node_parent: list[int]
    leaf_node: list[int]

    def __post_init__(self) -> None:
        self.node_parent = [int(p) for p in self.node_parent]
        self.leaf_node = [int(n) for n in self.leaf_node]
        for n, p in enumerate(self.node_parent):
            if not -1 <= p < n:
                raise ValueError(f"class tree: node {n} has parent {p}; parents must come before their children")
        for c, n in enumerate(self.leaf_node):
            if not 0 <= n < len(self.node_parent):
                raise ValueError(f"class tree: class {c} points at node {n}, which does not exist")

    @classmethod
    def roots(cls, k: int) -> ClassTree:
        """k unrelated classes (ground truth, or one class for the unsupervised schedule)."""
        return cls(node_parent=[-1] * k, leaf_node=list(range(k)))

    @property
    def k(self) -> int:
        """Number of current classes (leaves)."""
        return len(self.leaf_node)

    @property
    def n_nodes(self) -> int:
        return len(self.node_parent)

    def split(self, parent: np.ndarray | list[int]) -> ClassTree:
        """The tree after a relabel step whose new class c came from old class ``parent[c]``.

        An old class with one new class keeps its node; an old class with two or more gets a
        new node per child, appended in the order of the new class ids.
        """
        parent = np.asarray(parent, dtype=np.int64)
        if len(parent) and (parent.min() < 0 or parent.max() >= self.k):
            raise ValueError(f"split: parents must lie in [0, {self.k}); got [{parent.min()}, {parent.max()}]")
        children = np.bincount(parent, minlength=self.k)
        if np.any(children == 0):
            raise ValueError(f"split: old classes {np.flatnonzero(children == 0).tolist()} have no child")
        node_parent, leaf_node = list(self.node_parent), []
        for p in parent:
            if children[p] == 1:
                leaf_node.append(self.leaf_node[p])
            else:
                node_parent.append(self.leaf_node[p])
                leaf_node.append(len(node_parent) - 1)
        return ClassTree(node_parent, leaf_node)

    def path_matrix(self) -> torch.Tensor:
        """(k, n_nodes) 0/1 matrix: row c marks the nodes on class c's root-to-leaf path."""
        m = torch.zeros(self.k, self.n_nodes)
        for c, n in enumerate(self.leaf_node):
            while n >= 0:
                m[c, n] = 1.0
                n = self.node_parent[n]
        return m

    def to_record(self) -> dict[str, list[int]]:
        """Plain lists for the architecture record."""
        return {"node_parent": list(self.node_parent), "leaf_node": list(self.leaf_node)}

    @classmethod
    def from_record(cls, record: dict) -> ClassTree:
        return cls(list(record["node_parent"]), list(record["leaf_node"]))


class TreeBatchNorm(nn.Module):
    """BatchNorm whose gain and bias per class are sums of per-node rows along the class's path.

    Normalisation statistics are shared by all classes (as in conditional BN), so at eval
    time two classes with equal summed rows give identical outputs.
    """

    def __init__(self, norm: nn.modules.batchnorm._BatchNorm, tree: ClassTree) -> None:
        super().__init__()
        channels = norm.num_features
        self.norm = type(norm)(channels, eps=norm.eps, momentum=norm.momentum, affine=False)
        roots = torch.tensor([p < 0 for p in tree.node_parent], dtype=torch.float32)
        self.node_gain = nn.Parameter(roots[:, None].repeat(1, channels))
        self.node_bias = nn.Parameter(torch.zeros(tree.n_nodes, channels))
        self.register_buffer("path", tree.path_matrix(), persistent=False)
        self.y: torch.Tensor | None = None  # set by TreeGenerator around each forward

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.y is None:
            raise RuntimeError("TreeBatchNorm needs class labels; call it through TreeGenerator(z, y)")
        path = cast(torch.Tensor, self.path)  # a registered buffer
        on_path = path[self.y]
        shape = (len(x), -1) + (1,) * (x.dim() - 2)
        gain = (on_path @ self.node_gain).view(shape)
        bias = (on_path @ self.node_bias).view(shape)
        return self.norm(x) * gain + bias


def _condition_batchnorms(module: nn.Module, tree: ClassTree) -> None:
    """Replace, in place, every BatchNorm below ``module`` by a TreeBatchNorm of the same size."""
    for name, child in module.named_children():
        if isinstance(child, (nn.BatchNorm1d, nn.BatchNorm2d)):
            setattr(module, name, TreeBatchNorm(child, tree))
        else:
            _condition_batchnorms(child, tree)


class TreeGenerator(Generator):
    """``G(z, y)`` for any generator body: its BatchNorm layers become class-tree conditional.

    The body sees only z (no embedding); the class enters through every BatchNorm's gain and bias.
    """

    def __init__(self, body: nn.Module, tree: ClassTree) -> None:
        super().__init__(body, n_classes=1, embed_dim=1)
        _condition_batchnorms(self.body, tree)
        self.tree = tree
        self.n_classes = tree.k
        self.tree_norms = [m for m in self.body.modules() if isinstance(m, TreeBatchNorm)]
        if not self.tree_norms:
            raise ValueError("a class-tree generator needs a body with BatchNorm layers to condition")

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is None:
            raise ValueError("a class-tree generator needs class labels y")
        for m in self.tree_norms:
            m.y = y
        try:
            return self.body(z)
        finally:
            for m in self.tree_norms:
                m.y = None


def node_table_names(G: nn.Module) -> list[str]:
    """Names (as in ``G.state_dict()``) of the per-node gain and bias tables of a TreeGenerator."""
    return [
        f"{name}.{table}"
        for name, m in G.named_modules()
        if isinstance(m, TreeBatchNorm)
        for table in ("node_gain", "node_bias")
    ]
