"""The declaration of a model's parameters: written once, read by everything that needs it.

Each model lists its parameters as :class:`Param` objects in ``PARAMS``. From that one list come the model's
validation in ``fit`` (:func:`check_params`, which never rewrites a value), the command line's options, the
argument help of the Excel functions, and what a saved model holds (``get_params``).
"""

from __future__ import annotations

import difflib
import math
import numbers
from dataclasses import dataclass

from ...exceptions import InputError

__all__ = ["Param", "check_params", "did_you_mean"]


def did_you_mean(word, choices) -> str:
    """`` (did you mean 'x'?)`` when ``word`` is close to one of ``choices``, else ``""``.

    >>> did_you_mean("manhatan", ["manhattan", "euclidean"])
    " (did you mean 'manhattan'?)"
    """
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(frozen=True)
class Param:
    """One parameter of a model.

    Parameters
    ----------
    name : str
        The keyword of the model's ``__init__`` (``min_shared``); the command line spells it ``--min-shared``.
    kind : {"int", "float", "choice", "bool"}
    default
        The value when the parameter is not given; it must itself be valid (a test checks every model's).
    help : str
        One line, shown by ``--help`` and in Excel's function wizard.
    choices : tuple, optional
        The allowed values of a ``"choice"`` (``None`` may be one of them).
    low, high : number, optional
        The allowed range of an ``"int"`` or ``"float"``, both ends included unless ``low_open``.
    low_open : bool, default False
        Whether ``low`` itself is excluded (a strictly positive tolerance).
    """

    name: str
    kind: str
    default: object
    help: str
    choices: tuple | None = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False

    @property
    def option(self) -> str:
        """The command-line spelling: ``--min-shared``."""
        return "--" + self.name.replace("_", "-")

    def describe(self) -> str:
        """The help line with the allowed values and the default: what ``--help`` and Excel show."""
        if self.kind == "choice":
            allowed = ", ".join("none" if c is None else str(c) for c in self.choices)
            allowed = f"one of {allowed}"
        elif self.kind == "bool":
            allowed = "true or false"
        else:
            allowed = self._range_text()
        default = "none" if self.default is None else str(self.default).lower() if self.kind == "bool" \
            else str(self.default)
        return f"{self.help} ({allowed}; default {default})"

    def _range_text(self) -> str:
        what = "a whole number" if self.kind == "int" else "a number"
        if self.low is not None and self.high is not None:
            return f"{what} from {_num(self.low)} to {_num(self.high)}"
        if self.low is not None:
            return f"{what} {'above' if self.low_open else 'of at least'} {_num(self.low)}"
        if self.high is not None:
            return f"{what} of at most {_num(self.high)}"
        return what

    def check(self, value) -> None:
        """Raise :class:`InputError` naming the parameter, the value and what is allowed, unless ``value``
        is valid. Never converts: ``k=2.0`` is refused here (front ends convert text with :meth:`parse`)."""
        if self.kind == "choice":
            if any(value is c or (value == c and type(value) is type(c)) for c in self.choices):
                return
            names = ", ".join("none" if c is None else str(c) for c in self.choices)
            raise InputError(f"unknown {self.name} {value!r}; choose one of: {names}"
                             f"{did_you_mean(value, [c for c in self.choices if c is not None])}")
        if self.kind == "bool":
            if isinstance(value, (bool,)) or type(value).__name__ == "bool_":
                return
            raise InputError(f"{self.name} must be true or false, got {value!r}")
        if self.kind == "int":
            ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        else:
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
        inside = ok and (self.low is None or (value > self.low if self.low_open else value >= self.low)) \
            and (self.high is None or value <= self.high)
        if not inside:
            raise InputError(f"{self.name} must be {self._range_text()}, got {value!r}")

    def parse(self, value):
        """A value as a spreadsheet cell or the command line gives it (text, or a float for a whole number),
        converted to this parameter's type; the result is then checked. Text "none" is None for a choice
        that allows it.

        >>> Param("k", "int", 2, "neighbours").parse("3"), Param("k", "int", 2, "neighbours").parse(3.0)
        (3, 3)
        """
        if isinstance(value, str):
            text = value.strip()
            if self.kind == "choice":
                low = text.lower()
                if low in ("", "none") and None in self.choices:
                    value = None
                else:
                    value = next((c for c in self.choices if c is not None and str(c).lower() == low), low)
            elif self.kind == "bool":
                low = text.lower()
                truth = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
                if low not in truth:
                    raise InputError(f"{self.name} must be true or false, got {value!r}")
                value = truth[low]
            else:
                try:
                    value = float(text.replace(",", "")) if self.kind == "float" else _whole(text)
                except ValueError:
                    raise InputError(f"{self.name} must be {self._range_text()}, got {value!r}") from None
        elif self.kind == "int" and isinstance(value, float) and value.is_integer():
            value = int(value)
        elif self.kind == "float" and isinstance(value, numbers.Integral) and not isinstance(value, bool):
            value = float(value)
        elif self.kind == "bool" and isinstance(value, (int, float)) and value in (0, 1):
            value = bool(value)
        self.check(value)
        return value


def _whole(text: str) -> int:
    f = float(text.replace(",", ""))
    if not f.is_integer():
        raise ValueError(text)
    return int(f)


def _num(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def check_params(model) -> None:
    """Check every declared parameter of ``model``; the first invalid one raises :class:`InputError`."""
    for p in model.PARAMS:
        p.check(getattr(model, p.name))
