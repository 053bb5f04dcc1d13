"""What a method tells the training loop, as data (torch-free, so methods import it without torch).

:class:`UpdateSpec`: one entry of the phase's update list (stylegan2-ada's training_loop.py iterates
the same kind of list): which network a step trains, how often per iteration, which batch it draws
and which other networks' weight gradients it does not need. :class:`Sampling`: how real and fake
batches get their classes. The loop builds networks, optimisers and the batch plan from these and
never asks which method it trains.
"""

from __future__ import annotations

from dataclasses import dataclass

DRAWS = ("real_and_fake", "fake", "real")


@dataclass(frozen=True)
class UpdateSpec:
    """One update of an iteration: ``network`` stepped ``repeats`` times by Adam at the run's ``lr_key``.

    ``draws``: ``real_and_fake`` (a real batch and fakes for it: D's step), ``fake`` (fakes only, paired
    with the last real-and-fake draw when the sampling pairs them: G's step) or ``real`` (a real batch:
    slcgan's C). ``frozen``: networks the loss runs through whose weight gradients the step discards.
    """

    network: str
    lr_key: str
    draws: str
    repeats: int = 1
    frozen: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.draws not in DRAWS:
            raise ValueError(f"update {self.network}: draws {self.draws!r} is not one of {DRAWS}")


@dataclass(frozen=True)
class Sampling:
    """How a phase's batches get their classes.

    ``fake_classes``: ``labels`` (in proportion to the class sizes) or ``uniform``; ``real_labels``:
    ``labels`` (each real sample's own) or ``random`` (drawn afresh per batch, uniformly: the random
    labels baseline); ``paired``: a D step's fakes take the real batch's classes and G's step reuses
    that z and those classes (the self-conditioned GAN's Trainer).
    """

    fake_classes: str = "labels"
    real_labels: str = "labels"
    paired: bool = False


def gan_updates(d_steps: int) -> list[UpdateSpec]:
    """The GAN's two updates: D ``d_steps`` times, then G through a frozen D."""
    return [
        UpdateSpec("D", "lr_d", "real_and_fake", repeats=int(d_steps)),
        UpdateSpec("G", "lr_g", "fake", frozen=("D",)),
    ]
