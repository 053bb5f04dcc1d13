"""`uncond`: the unconditional GAN baseline (the papers' "GAN" rows): one class, D without conditioning."""

from __future__ import annotations

from .base import Method


class Unconditional(Method):
    name = "uncond"
    conditioning = "none"
