"""Conformance: every registered attack passes every check of the public conformance kit
(:mod:`trustbench.testing.conformance`), with its own ``test_params()``.

A new attack gets all of them by adding its registry line (scikit-learn's
``parametrize_with_checks`` idea); an attack in another package runs the same kit.
"""

from __future__ import annotations

import pytest

from trustbench.attacks import REGISTRY, get_attack
from trustbench.errors import InputError
from trustbench.testing.conformance import attack_checks, parametrize_with_checks, parametrized_checks


@parametrize_with_checks(REGISTRY)
def test_attack_conforms(entry, check) -> None:  # type: ignore[no-untyped-def]
    check(entry)


def test_every_registered_attack_gets_every_check() -> None:
    """Meta: the registry is not empty, the kit has checks for every entry (batch-size
    invariance and References among them) and the test above runs each of them."""
    assert REGISTRY
    expected = set()
    for cls in REGISTRY.values():
        names = {c.__name__ for c in attack_checks(cls)}
        assert {"check_same_result_at_any_batch_size", "check_docstring_has_references",
                "check_stays_inside_eps_and_bounds", "check_same_seed_same_result"} <= names
        expected |= {(cls, c) for c in attack_checks(cls)}
    run = parametrized_checks(test_attack_conforms)
    assert len(run) == len(set(run)) and set(run) == expected


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_registry_names_match_and_build(name: str) -> None:
    cls = REGISTRY[name]
    assert cls.name == name
    attack = get_attack(name, **cls.test_params())
    assert type(attack) is cls and attack.get_params() == cls.param_defaults() | cls.test_params()


def test_unknown_attack_names_the_choices() -> None:
    with pytest.raises(InputError, match="apgd-ce"):
        get_attack("nope")
