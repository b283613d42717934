"""Name -> attack class. Adding an attack is one module plus one line here."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from trustbench.attacks.apgd import APGD, APGDDLR, APGDT
from trustbench.attacks.base import Attack
from trustbench.attacks.ensemble import Standard
from trustbench.attacks.fgsm import FGSM
from trustbench.attacks.params import COMMON_PARAMS, ParamValue, _show, check_param
from trustbench.attacks.pgd import PGD
from trustbench.attacks.square import Square
from trustbench.errors import InputError

__all__ = ["REGISTRY", "attack_class", "check_attack_params", "get_attack"]

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
    """Return the class registered as ``name``; raise an InputError listing the valid names otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise InputError(f"unknown attack {name!r}",
                         fix=f"use one of: {', '.join(sorted(REGISTRY))}") from None


def get_attack(name: str, **params: Any) -> Attack:
    """Build the registered attack ``name`` with ``params``."""
    return attack_class(name)(**params)


def check_attack_params(attack_params: object, *,
                        field: str = "attack_params") -> dict[str, dict[str, ParamValue]]:
    """Validate user-given parameters per attack name; return them as plain dicts.

    Each attack's parameters are checked against its declared
    :class:`~trustbench.attacks.base.Param`.

    The one check behind a scan config's ``scan.attack_params``, ``ScanConfig.attack_params``
    and ``trustbench compress --attack-params``: unknown attacks and parameters are refused
    by name (listing the valid ones), and so are wrong types, values out of range and the
    parameters a scan sets itself (eps, norm, seed). Errors name ``field`` and the path in
    it, e.g. ``scan.attack_params.pgd.steps``.

    Examples
    --------
    >>> check_attack_params({"pgd": {"steps": 50}})
    {'pgd': {'steps': 50}}
    >>> check_attack_params({"pgd": {"steps": "50"}}, field="scan.attack_params")
    Traceback (most recent call last):
    ...
    trustbench.errors.InputError: scan.attack_params.pgd.steps: expected an integer in [1, 10000], ...
    """
    if attack_params is None:
        return {}
    if not isinstance(attack_params, Mapping):
        raise InputError(f"{field}: expected a mapping of attack names to parameters, got "
                         f"{_show(attack_params)}", fix="write e.g. {pgd: {steps: 50}}")
    out: dict[str, dict[str, ParamValue]] = {}
    for name, params in attack_params.items():
        if name not in REGISTRY:
            raise InputError(f"{field}.{name}: unknown attack {_show(name)}",
                             fix=f"use one of: {', '.join(sorted(REGISTRY))}")
        cls = REGISTRY[name]
        owner = f"{field}.{name}"
        if not isinstance(params, Mapping):
            raise InputError(f"{owner}: expected a mapping of parameter names to values, got "
                             f"{_show(params)}", fix=f"write e.g. {name}: {{}}")
        defaults = cls.param_defaults()
        own = dict(cls.params)
        for key, value in params.items():
            if key in COMMON_PARAMS:
                raise InputError(
                    f"{owner}.{key}: {key} is set by the scan for every attack and cannot be "
                    "changed per attack",
                    fix=f"remove it here and set the scan's own {key} (e.g. scan.{key} in a "
                    f"config, --{key} on the command line)")
            if key not in own:
                valid = ", ".join(sorted(own))
                raise InputError(f"{owner}.{key}: {name} has no parameter {_show(key)}",
                                 fix=f"use one of: {valid}" if valid else
                                 f"remove it: {name} takes no parameters besides eps, norm and "
                                 "seed, which the scan sets")
            check_param(owner, key, value, own[key],
                        default=defaults.get(key, inspect.Parameter.empty))
        out[name] = dict(params)
    return out
