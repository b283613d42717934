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
