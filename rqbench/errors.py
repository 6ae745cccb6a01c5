"""The one base of every "your input is wrong" error, so the CLI can report it without a traceback."""

from __future__ import annotations


class InputError(Exception):
    """Bad input or missing data, not a bug: an unknown name, a wrong shape or value, an empty
    dataset, a data package or tool that is not installed. Its message names the problem (and how
    to fix it); ``rqbench`` prints it as one ``error:`` line and exits with status 2.

    Subclasses keep their usual built-in base too (``class DomainDataError(ValueError, InputError)``),
    so ``except ValueError`` still catches them.
    """


__all__ = ["InputError"]
