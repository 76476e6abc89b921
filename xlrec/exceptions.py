"""The one exception hierarchy of xlrec.

Every error a user can cause derives from :class:`XlrecError`; the front ends (command line, Excel functions,
the ribbon macro) catch it at their boundary and show its message, which is written to be read by a person.
"""

__all__ = ["XlrecError", "InputError", "NotFoundError", "WorkbookError"]


class XlrecError(Exception):
    """Base class of every error xlrec raises on purpose."""


class InputError(XlrecError, ValueError):
    """Bad input: a cell that is not a number, a duplicate name, a bad option value."""


class NotFoundError(XlrecError, KeyError):
    """An unknown salesperson or client name."""

    def __str__(self):  # KeyError would show the message in quotes
        return str(self.args[0]) if self.args else ""


class WorkbookError(XlrecError):
    """A workbook that cannot be read or written safely."""
