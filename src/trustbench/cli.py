"""The ``trustbench`` command line: a thin layer over the library.

The commands live in ``trustbench.commands``; this module builds the app, registers them and
owns the exit codes.

Exit codes: 0 ok, 1 a gate failed, 2 bad usage or bad input.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text
from typer import rich_utils as typer_rich_utils
from typer.models import OptionInfo

from trustbench._version import __version__
from trustbench.commands._console import (
    console,
    err_console,
    fail,
    interrupted,
    keep_on_interrupt,
    printable,
)
from trustbench.errors import TrustbenchError

app = typer.Typer(
    name="trustbench",
    help="Measure how trustworthy a machine-learning model is: adversarial robustness with "
    "evaluation-validity checks, written to a JSON scorecard.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        console.print(f"trustbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")



def _usage_error(error: Any) -> None:
    """Print a command-line usage error (unknown option, a value of the wrong type) on one line.

    typer draws these in a box of five or more lines; trustbench's errors are one line
    (``error: ... -- fix``) everywhere, these included. Installed over
    ``typer.rich_utils.rich_format_error``, which typer calls for every usage error.
    """
    ctx = getattr(error, "ctx", None)
    where = f" -- see '{ctx.command_path} -h'" if ctx is not None else ""
    message = " ".join(str(error.format_message()).split())
    err_console.print(Text.assemble(("error: ", "bold red"), printable(message + where)),
                      soft_wrap=True, highlight=False)


typer_rich_utils.rich_format_error = _usage_error


def _labels(fn: Callable[..., Any]) -> dict[str, str]:
    """Parameter name -> how the user typed it: ``--model`` for an option, ``BASELINE`` else."""
    import typing

    out = {}
    for name, hint in typing.get_type_hints(fn, include_extras=True).items():
        info = next((m for m in getattr(hint, "__metadata__", ()) if isinstance(m, OptionInfo)),
                    None)
        decls = [d for d in (info.param_decls or ()) if d.startswith("--")] if info else []
        out[name] = (decls[0] if decls else "--" + name.replace("_", "-")) if info else name.upper()
    return out


def _refuse_undecodable(options: dict[str, Any], labels: dict[str, str]) -> None:
    """Refuse an option whose text holds bytes that are not UTF-8 (a clean exit 2).

    The shell passes such bytes (a file name in another encoding) as lone surrogates, which
    no config field, path check or message can use.
    """
    for name, value in options.items():
        for v in value if isinstance(value, list | tuple) else [value]:
            if isinstance(v, str | Path) and any("\ud800" <= c <= "\udfff" for c in str(v)):
                raise fail(f"{labels.get(name, name)} {printable(repr(str(v)))}: holds bytes "
                           "that are not UTF-8 text -- rename the file (or use a path whose "
                           "name is UTF-8)")


def _guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a command with the CLI's one-line errors and exit code 2 for bad input."""
    labels = _labels(fn)

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        keep_on_interrupt(None)
        _refuse_undecodable(kwargs, labels)
        try:
            return fn(*args, **kwargs)
        except TrustbenchError as e:  # a refused pickle says why (commands._console)
            raise fail(e) from None
        except KeyboardInterrupt:
            raise interrupted() from None

    return run


def _register_commands() -> None:
    from trustbench.commands.audit import audit
    from trustbench.commands.harden import compress, harden
    from trustbench.commands.inspect import inspect
    from trustbench.commands.scan import demo, scan
    from trustbench.commands.secure import secure
    from trustbench.commands.select import select
    from trustbench.commands.tools import compare, init, list_attacks, list_shifts

    for name, fn in (("scan", scan), ("demo", demo), ("init", init), ("compare", compare),
                     ("attacks", list_attacks), ("shifts", list_shifts), ("audit", audit),
                     ("harden", harden), ("compress", compress), ("inspect", inspect),
                     ("secure", secure), ("select", select)):
        app.command(name=name)(_guarded(fn))

    from trustbench.commands import monitor

    monitor_app = typer.Typer(
        help="Watch a deployed model: drift, performance and alerts over time, kept in "
        "SQLite or PostgreSQL (needs trustbench[monitor]).", no_args_is_help=True,
        context_settings={"help_option_names": ["-h", "--help"]})
    for name, fn in (("init", monitor.init), ("ingest", monitor.ingest),
                     ("check", monitor.check), ("report", monitor.report),
                     ("compare", monitor.compare), ("register", monitor.register),
                     ("serve", monitor.serve)):
        monitor_app.command(name=name)(_guarded(fn))
    key_app = typer.Typer(help="API keys of 'trustbench monitor serve' (shown once, stored "
                          "as salted hashes).", no_args_is_help=True,
                          context_settings={"help_option_names": ["-h", "--help"]})
    for name, fn in (("create", monitor.key_create), ("revoke", monitor.key_revoke),
                     ("list", monitor.key_list)):
        key_app.command(name=name)(_guarded(fn))
    monitor_app.add_typer(key_app, name="key")
    app.add_typer(monitor_app, name="monitor")

    from trustbench.commands import align

    align_app = typer.Typer(
        help="Learn from human preference feedback and measure how robust that alignment is: "
        "reward models, SFT, DPO, RL, their evaluation, and a labelling page (needs "
        "trustbench[align], except label).", no_args_is_help=True,
        context_settings={"help_option_names": ["-h", "--help"]})
    for name, fn in (("train-rm", align.train_rm), ("sft", align.sft), ("dpo", align.dpo),
                     ("rl", align.rl), ("eval", align.eval_), ("label", align.label)):
        align_app.command(name=name)(_guarded(fn))
    app.add_typer(align_app, name="align")


_register_commands()


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:  # outside a command (while parsing, importing)
        err_console.print("interrupted: nothing was written")
        sys.exit(130)
