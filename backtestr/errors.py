"""Errors a user sees: each names what is wrong and where, in the terms of the
interface in use.

The same check runs under the command line and under the Python API, so a
message names an option through :func:`term`: ``term("force")`` is
``--force`` while ``backtestr.cli.main`` runs and ``force=True`` otherwise;
``term("set", "run.latency")`` is ``--set run.latency`` or
``overrides["run.latency"]``. The command line switches the wording
with :func:`interface` ("cli"); nothing else needs to know which one is in
use (docs/safety.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_INTERFACE: ContextVar[str] = ContextVar("backtestr_interface", default="python")

# Python argument -> (Python wording, command-line wording). "{key}" is the
# config key or symbol the message is about.
TERMS: dict[str, tuple[str, str]] = {
    "force": ("force=True", "--force"),
    "overwrite": ("overwrite=True", "--force"),
    "set": ('overrides["{key}"]', "--set {key}"),
    "set_item": ("overrides item {key}", "--set {key}"),
    "risk": ('risk["{key}"]', "--set risk.{key}"),
    "instruments": ("instruments=[FILE]", "--instruments FILE"),
    "out": ("out", "--out"),
    "days": ("days", "--days"),
    "symbols": ("symbols", "--symbols"),
    "symbol": ("symbol", "--symbol"),
    "start": ("start", "--start"),
    "rate": ("rate", "--rate"),
    "seed": ("seed", "--seed"),
    "data": ("data", "--data"),
    "orders": ("orders", "--orders"),
    "signals": ("signals", "--signals"),
}


def term(name: str, key: str = "") -> str:
    """How the option ``name`` (a Python argument name) is spelled in the interface in use."""
    py, cli = TERMS.get(name, (name, "--" + name.replace("_", "-")))
    return (cli if _INTERFACE.get() == "cli" else py).format(key=key)


def current_interface() -> str:
    """"cli" while the command line runs a command, else "python"."""
    return _INTERFACE.get()


@contextmanager
def interface(name: str) -> Iterator[None]:
    """Word messages for ``name`` ("cli" or "python") inside the block."""
    token = _INTERFACE.set(name)
    try:
        yield
    finally:
        _INTERFACE.reset(token)


def row_label(index: int) -> str:
    """A 0-based row index as a person counts rows: the first data row is row 1 (a CSV header
    is not a row)."""
    return f"row {index + 1}"


class BacktestrError(Exception):
    """Base class; the CLI prints the message and exits with status 2."""


class ConfigError(BacktestrError):
    """A config key, value or file is wrong."""


class DataError(BacktestrError):
    """A tick archive is missing, empty, or breaks a row rule (``row``: counted from 1 in its file)."""

    def __init__(self, message: str, *, path: str | None = None, row: int | None = None,
                 rule: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.row = row
        self.rule = rule


class OrdersError(BacktestrError):
    """The orders or signals table is wrong."""


class OutputError(BacktestrError):
    """An output path cannot be written without losing something that is already there."""
