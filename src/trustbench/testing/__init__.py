"""Toy models, data and the conformance kit shared by trustbench's tests and by extensions.

* :mod:`trustbench.testing.conformance` — :func:`check_attack`, :func:`check_shift`,
  :func:`check_audit_check` and :func:`parametrize_with_checks`: the checks every attack,
  shift and audit check passes (the project's registries run them in ``tests/``).
* :mod:`trustbench.testing.toy` — tiny seeded models and images with known answers.
* :mod:`trustbench.testing.toy_tables` — a typed tabular set, audit tables with planted
  problems and the ``AuditContext`` an audit check receives for them.
"""

from __future__ import annotations

from trustbench.testing.conformance import (
    Check,
    attack_checks,
    audit_checks,
    check_attack,
    check_audit_check,
    check_shift,
    checks_for,
    parametrize_with_checks,
    parametrized_checks,
    shift_checks,
)

__all__ = [
    "Check",
    "attack_checks",
    "audit_checks",
    "check_attack",
    "check_audit_check",
    "check_shift",
    "checks_for",
    "parametrize_with_checks",
    "parametrized_checks",
    "shift_checks",
]
