"""What a model says about one cell: its value and why, in three forms.

Every model's ``explain(i, j)`` returns an :class:`Explanation` (or a subclass with the model's own detail):

- :meth:`Explanation.text`: several lines of plain text, as ``xlrec predict`` prints them;
- :meth:`Explanation.table`: rows of four columns, as ``EXPLAIN_BOOKING`` spills them in Excel;
- :meth:`Explanation.note`: the text of the note on a predicted cell (the front end adds its prefix).

The model-specific part (the neighbours that voted, the offsets of a baseline) lives in the subclass's
:meth:`~Explanation.detail_lines` and :meth:`~Explanation.detail_rows`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Explanation", "format_amount"]


def format_amount(v) -> str:
    """An amount as a person reads it: thousands separators, cents only when there are any; an amount under
    10 (a matrix kept in thousands or millions) with four significant digits, so 0.4333 is not shown as 0.43.

    >>> format_amount(433333.3333), format_amount(500000.0), format_amount(0.43333333), format_amount(7.25)
    ('433,333.33', '500,000', '0.4333', '7.25')
    """
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "blank"
    v = float(v)
    if abs(v) < 10 and v != 0:
        decimals = min(15, max(2, 3 - math.floor(math.log10(abs(v)))))
        text = f"{v:,.{decimals}f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    r = round(v, 2)
    return f"{r:,.0f}" if r == round(r) else f"{r:,.2f}"


@dataclass(frozen=True)
class Explanation:
    """One cell's value and where it comes from.

    ``value`` is None when nothing could be predicted (then ``reason`` says why). ``known`` is True when the
    cell holds a booking (then ``value`` is that booking). ``fallback`` names the fallback model that gave the
    value when the model itself could not (``reason`` then says why it could not). ``model`` describes the
    model and its parameters in a few words.
    """

    salesperson: str
    client: str
    value: float | None
    known: bool = False
    reason: str | None = None
    fallback: str | None = None
    model: str = ""
    #: how the text says that the model itself had nothing ("no neighbour" for the neighbour model)
    nothing: str = "the model could not predict it"

    # -- the model's own part: a subclass overrides these ---------------------------------------------------

    def detail_lines(self) -> list:
        """Lines that follow the first one of :meth:`text` and :meth:`note` for a predicted cell."""
        return []

    def note_lines(self) -> list:
        """Lines that follow the first one of :meth:`note` (by default those of :meth:`text`)."""
        return self.detail_lines()

    def detail_rows(self) -> list:
        """Rows of four cells that come before the prediction row of :meth:`table`, a header first."""
        return []

    @property
    def predicted(self) -> bool:
        """Whether the value is the model's own prediction (not a booking, a fallback, or nothing)."""
        return not self.known and self.value is not None and not self.fallback

    # -- the three forms --------------------------------------------------------------------------------------

    def text(self) -> str:
        """Several lines of plain text, as the command line prints them."""
        head = f"{self.salesperson} / {self.client}: "
        if self.known:
            return head + f"{format_amount(self.value)} (an actual booking, not a prediction)"
        if self.value is None:
            return head + f"no prediction: {self.reason}"
        if self.fallback:
            return head + f"{format_amount(self.value)} ({self.fallback}; {self.nothing}: {self.reason})"
        return "\n".join([head + f"{format_amount(self.value)} predicted ({self.model})"]
                         + [f"  {line}" for line in self.detail_lines()])

    explain = text  # the name ``Prediction.explain`` had before explanations had three forms

    def table(self) -> list:
        """Rows of four cells: the model's detail, then the prediction (what EXPLAIN_BOOKING spills)."""
        if self.known:
            return [["Actual booking", "", "", self.value]]
        if self.value is None:
            return [["No prediction", self.reason or "", "", ""]]
        if self.fallback:
            return [["Prediction (" + self.fallback + ")", self.reason or "", "", self.value]]
        return self.detail_rows() + [["Prediction", "", "", self.value]]

    def note(self) -> str:
        """The text of a predicted cell's note, without the front end's prefix."""
        if self.fallback:
            return f"{format_amount(self.value)} = {self.fallback} ({self.nothing}: {self.reason})"
        return "\n".join([f"{format_amount(self.value)} ({self.model})", *self.note_lines()])
