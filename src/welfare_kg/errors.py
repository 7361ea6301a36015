"""Errors the CLI turns into one-line messages and exit codes."""

from __future__ import annotations

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


class WelfareKGError(Exception):
    """Base class: the message is complete and shown to the user as it is."""

    exit_code = EXIT_USAGE


class LoadError(WelfareKGError):
    """A data file cannot be read or parsed (names file, line and column)."""


class UsageError(WelfareKGError):
    """Bad command-line input: unknown query, bad parameter, invalid SPARQL."""
