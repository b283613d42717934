"""Command options outside their range: a one-line error before any data is loaded or any
training starts, never a traceback from deep inside torch."""

from __future__ import annotations

import pytest
from hostile_harness import clean_error, cli

HARDEN = ["harden", "--arch", "trustbench.demo:DemoCNN", "--data", "digits", "-q"]


@pytest.mark.parametrize(("option", "value", "needle"), [
    ("--lr", "-1", "lr must be a finite number >= 0"),
    ("--lr", "nan", "lr must be a finite number >= 0"),
    ("--beta", "-0.5", "beta must be a finite number >= 0"),
    ("--beta", "inf", "beta must be a finite number >= 0"),
    ("--patience", "-2", "patience must be an integer >= 0"),
    ("--epochs", "0", "epochs must be a positive integer"),
    ("--batch-size", "-4", "batch_size must be a positive integer"),
    ("--val-fraction", "1.5", "val_fraction must be in (0, 1)"),
    ("--eps", "-0.1", "eps"),
    ("--steps", "0", "steps"),
    ("--method", "magic", "method 'magic' is unknown"),
])
def test_harden_refuses_bad_settings_before_any_work(option: str, value: str, needle: str) -> None:
    clean_error(cli(*HARDEN, option, value), needle)


@pytest.mark.parametrize(("option", "value", "needle"), [
    ("--threads", "0", "--threads 0"),
    ("--threads", "-3", "--threads -3"),
    ("--seed", "-1", "--seed -1"),
    ("--seed", str(2**64), "--seed"),
    ("--n", "0", "--n 0"),
    ("--batch-size", "0", "--batch-size '0'"),
    ("--budget", "-5", "--budget -5"),
    ("--eps", "0.1,nan", "--eps"),
    ("--bounds", "nan,1", "--bounds"),
    ("--bounds", "-inf,inf", "--bounds"),
    ("--bounds", "1,0", "--bounds"),
    ("--severities", "0,9", "--severities"),
])
def test_scan_refuses_bad_options_naming_them(option: str, value: str, needle: str) -> None:
    clean_error(cli("scan", "--model", "missing.pt", "--data", "digits", option, value), needle)


@pytest.mark.parametrize(("args", "needle"), [
    (["scan", "--model", "m\udcff.pt", "--data", "digits"], "--model 'm\\udcff.pt'"),
    (["scan", "--model", "m.pt", "--data", "d\udcfe.csv"], "--data"),
    (["scan", "--model", "m.pt", "--data", "digits", "--out", "r\udcff"], "--out"),
    (["compare", "a\udcff.json", "b.json"], "BASELINE"),
    (["harden", "--arch", "trustbench.demo:DemoCNN", "--data", "x\udcff.npz"], "--data"),
])
def test_arguments_that_are_not_utf8_are_refused_naming_the_option(args: list[str],
                                                                   needle: str) -> None:
    """A file name in another encoding reaches Python as lone surrogates: a clean error."""
    clean_error(cli(*args), needle, "not UTF-8")
