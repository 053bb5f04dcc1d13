"""A phase's update list, built: each :class:`~.plan.UpdateSpec` of the method with its network,
Adam optimiser (the checkpoint's moments when it has them) and base learning rate."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch import nn

from ..networks import frozen
from .plan import UpdateSpec


@dataclass
class Update:
    """One built update: ``spec`` says what it trains and draws; ``base_lr`` before the decay factor."""

    spec: UpdateSpec
    module: nn.Module
    optimizer: torch.optim.Optimizer
    base_lr: float
    frozen: tuple[nn.Module, ...]

    @property
    def name(self) -> str:
        return self.spec.network

    def no_weight_gradients(self) -> contextlib.ExitStack:
        """A context in which the networks this update only runs through get no weight gradients."""
        stack = contextlib.ExitStack()
        for module in self.frozen:
            stack.enter_context(frozen(module))
        return stack

    def step(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()


def build_updates(
    specs: list[UpdateSpec], networks: dict[str, nn.Module], run: dict, optimizer_states: dict[str, dict | None]
) -> list[Update]:
    """The updates of ``specs`` over ``networks`` with Adam at the run's rates and ``betas``."""
    updates = []
    for spec in specs:
        module = networks[spec.network]
        optimizer = torch.optim.Adam(module.parameters(), lr=run[spec.lr_key], betas=tuple(run["betas"]))
        moments = optimizer_states.get(spec.network)
        if moments is not None:
            optimizer.load_state_dict(moments)
        others = tuple(networks[name] for name in spec.frozen)
        updates.append(Update(spec, module, optimizer, float(run[spec.lr_key]), others))
    return updates


def set_learning_rates(updates: list[Update], factor: float) -> None:
    """Each optimiser's learning rate = its base rate x ``factor`` (the run's decay)."""
    for update in updates:
        for group in update.optimizer.param_groups:
            group["lr"] = update.base_lr * factor
