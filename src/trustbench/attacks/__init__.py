"""Adversarial attacks. All run batched in torch and are projected by the base class."""

from __future__ import annotations

from trustbench.attacks.apgd import APGD, APGDDLR, APGDT
from trustbench.attacks.base import Attack, AttackContext, AttackResult, Param
from trustbench.attacks.curve import robustness_curve
from trustbench.attacks.ensemble import Standard
from trustbench.attacks.fgsm import FGSM
from trustbench.attacks.pgd import PGD
from trustbench.attacks.registry import REGISTRY, check_attack_params, get_attack
from trustbench.attacks.square import Square

__all__ = [
    "APGD",
    "APGDDLR",
    "APGDT",
    "FGSM",
    "PGD",
    "REGISTRY",
    "Attack",
    "AttackContext",
    "AttackResult",
    "Param",
    "Square",
    "Standard",
    "check_attack_params",
    "get_attack",
    "robustness_curve",
]
