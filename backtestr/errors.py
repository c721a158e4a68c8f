"""Errors a user sees: each names what is wrong and where."""

from __future__ import annotations


class BacktestrError(Exception):
    """Base class; the CLI prints the message and exits with status 2."""


class ConfigError(BacktestrError):
    """A config key, value or file is wrong."""


class DataError(BacktestrError):
    """A tick archive is missing, empty, or breaks a row rule."""

    def __init__(self, message: str, *, path: str | None = None, row: int | None = None,
                 rule: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.row = row
        self.rule = rule


class OrdersError(BacktestrError):
    """The orders or signals table is wrong."""
