"""Name -> attack class. Adding an attack is one module plus one line here."""

from __future__ import annotations

from typing import Any

from trustbench.attacks.apgd import APGD, APGDDLR, APGDT
from trustbench.attacks.base import Attack
from trustbench.attacks.ensemble import Standard
from trustbench.attacks.fgsm import FGSM
from trustbench.attacks.pgd import PGD
from trustbench.attacks.square import Square
from trustbench.errors import InputError

__all__ = ["REGISTRY", "attack_class", "get_attack"]

REGISTRY: dict[str, type[Attack]] = {
    "fgsm": FGSM,
    "pgd": PGD,
    "apgd-ce": APGD,
    "apgd-dlr": APGDDLR,
    "apgd-t": APGDT,
    "square": Square,
    "standard": Standard,
}


def attack_class(name: str) -> type[Attack]:
    """The class registered as ``name``; an InputError listing the valid names otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise InputError(f"unknown attack {name!r}",
                         fix=f"use one of: {', '.join(sorted(REGISTRY))}") from None


def get_attack(name: str, **params: Any) -> Attack:
    """Build the registered attack ``name`` with ``params``."""
    return attack_class(name)(**params)
