"""Adversarial attacks. All run batched in torch and are projected by the base class."""

from __future__ import annotations

from trustbench.attacks.base import Attack, AttackContext, AttackResult
from trustbench.attacks.fgsm import FGSM
from trustbench.attacks.pgd import PGD
from trustbench.attacks.registry import REGISTRY, get_attack

__all__ = ["FGSM", "PGD", "REGISTRY", "Attack", "AttackContext", "AttackResult", "get_attack"]
