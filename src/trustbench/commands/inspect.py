"""``trustbench inspect``: what a model file would run, told without loading it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from trustbench.commands._console import console, fail, printable

if TYPE_CHECKING:
    from trustbench.security.files.inspect import FileReport

__all__ = ["inspect"]

_STYLE = {"safe": "green", "unsafe": "red", "unreadable": "yellow"}


def inspect(
    paths: Annotated[list[Path], typer.Argument(help="Model files or folders (searched "
                                                "recursively).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the reports as JSON on "
                                          "stdout instead of the table.")] = False,
    out: Annotated[Path | None, typer.Option(help="Also write the findings as a "
                                             "scorecard (JSON).")] = None,
    allow: Annotated[list[str] | None, typer.Option(
        help="Also allow imports matching this glob on module.name (e.g. 'mypkg.models.*'), "
        "for classes you wrote and trust. Repeatable.")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="List every import, not only the "
                                           "ones outside the allow-list.")] = False,
) -> None:
    """Tell what a model file would run, without loading it.

    Reads pickles (every protocol, stacked), PyTorch zip/legacy/tar files, joblib (compressed
    too), .npy/.npz, skops, ONNX, TorchScript and safetensors by their content, not their
    extension; nothing is imported or unpickled. Exit 0: safe; 1: something outside the
    allow-list (unsafe); 2: unreadable or not found.
    """
    from trustbench.security.files.findings import inspection_card
    from trustbench.security.files.inspect import inspect_path

    missing = [p for p in paths if not p.exists()]
    if missing:
        raise fail(f"{missing[0]}: no such file or folder")
    reports = [r for p in paths for r in inspect_path(p, allow=allow or [])]
    if not reports:
        raise fail(f"{paths[0]}: the folder holds no files")
    if out is not None:
        try:
            inspection_card(reports, command="inspect").to_json(out)
        except OSError as e:
            raise fail(f"{out}: cannot write the scorecard ({e.strerror or e})") from None
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in reports], indent=2))
    else:
        for r in reports:
            _print(r, show_all=show_all)
        counts = {v: sum(r.verdict == v for r in reports) for v in _STYLE}
        if len(reports) > 1:
            console.print(", ".join(f"{n} {v}" for v, n in counts.items() if n), highlight=False)
    verdicts = {r.verdict for r in reports}
    if "unsafe" in verdicts:
        raise typer.Exit(1)
    if "unreadable" in verdicts:
        raise typer.Exit(2)


def _print(r: FileReport, *, show_all: bool) -> None:
    style = _STYLE[r.verdict]
    console.print(f"[{style}]{r.verdict.upper()}[/{style}] " + printable(f"{r.path} ({r.format})"),
                  highlight=False, soft_wrap=True)
    for i in sorted(r.issues, key=lambda i: ("critical", "high", "medium", "low",
                                             "info").index(i.severity)):
        where = f" [{i.where.lstrip(':')}]" if i.where else ""
        console.print(printable(f"  {i.severity:<8} {i.message}{where}"), highlight=False,
                      soft_wrap=True)
    for e in r.errors:
        console.print(printable(f"  error    {e}"), highlight=False, soft_wrap=True)
    if show_all:
        for imp in r.imports:
            mark = "allowed" if imp["allowed"] else "NOT ALLOWED"
            console.print(printable(f"  import   {imp['name']} ({imp['how']}, byte {imp['pos']}"
                                    f", {mark})"), highlight=False, soft_wrap=True)
