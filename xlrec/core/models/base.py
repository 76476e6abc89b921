"""What every model shares: the interface, and the results a front end shows.

A model follows scikit-learn's habit: ``__init__`` stores keyword-only parameters, ``fit(matrix)`` validates
and learns (learned state ends in ``_``), then ``fill()`` predicts every blank and ``predict(salesperson,
client)`` predicts and explains one cell. Further models (matrix and tensor factorization) slot in beside
:class:`~xlrec.core.neighbors.NeighborModel` by implementing the same three methods.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from .matrix import SalesMatrix

__all__ = ["Model", "Prediction", "Neighbor", "FillResult", "as_matrix", "format_amount"]


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


def as_matrix(matrix) -> SalesMatrix:
    """A :class:`SalesMatrix` from itself or from a 2-D array with NaN blanks (labels made up: R1.., C1..)."""
    if isinstance(matrix, SalesMatrix):
        return matrix
    values = np.asarray(matrix, dtype=float)
    if values.ndim != 2:
        from ..exceptions import InputError

        raise InputError(f"a sales matrix must be 2-D, got {values.ndim} dimension(s)")
    n, m = values.shape
    return SalesMatrix([f"R{i + 1}" for i in range(n)], [f"C{j + 1}" for j in range(m)], values)


@dataclass(frozen=True)
class Neighbor:
    """One neighbour that voted for a prediction."""

    name: str
    distance: float
    weight: float
    value: float
    shared: int


@dataclass(frozen=True)
class Prediction:
    """One cell's prediction and its explanation.

    ``value`` is None when nothing could be predicted (then ``reason`` says why). ``known`` is True when the
    cell already holds a booking (then ``value`` is that booking). ``fallback`` names the fallback used when
    the value does not come from neighbours.
    """

    salesperson: str
    client: str
    value: float | None
    known: bool = False
    k: int = 0
    neighbors: list = field(default_factory=list)
    note: str | None = None
    reason: str | None = None
    fallback: str | None = None
    model: str = ""

    def explain(self) -> str:
        """Several lines of plain text, as the command line prints them."""
        head = f"{self.salesperson} / {self.client}: "
        if self.known:
            return head + f"{format_amount(self.value)} (an actual booking, not a prediction)"
        if self.value is None:
            return head + f"no prediction: {self.reason}"
        if self.fallback:
            return head + f"{format_amount(self.value)} ({self.fallback}; no neighbour: {self.reason})"
        lines = [head + f"{format_amount(self.value)} predicted ({self.model})"]
        total = sum(n.weight for n in self.neighbors)
        for i, n in enumerate(self.neighbors, 1):
            lines.append(f"  {i}. {n.name}: {format_amount(n.value)} (distance {format_amount(n.distance)}, "
                         f"weight {n.weight:.4g}, {n.weight / total:.0%} of the vote"
                         + (f", {n.shared} shared)" if n.shared >= 0 else ")"))
        if self.note:
            lines.append(f"  note: {self.note}")
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class FillResult:
    """Every blank predicted at once.

    Attributes
    ----------
    matrix : SalesMatrix
        The input.
    values : ndarray of shape (n_salespeople, n_clients)
        Known cells unchanged, predicted and fallback cells filled, NaN where nothing could be predicted.
    predicted, fallback, unfilled : ndarray of bool, same shape
        Which blanks were predicted from neighbours, filled by the fallback, or left blank.
    neighbors_used : ndarray of int, same shape
        How many neighbours voted for each predicted cell (0 elsewhere).
    model : Model
    neighbors : (index, distance, weight) or None
        With ``fill(explain=True)``: arrays of shape (n_salespeople, n_clients, k) naming, for every
        predicted cell, the neighbours that voted (index -1 where fewer than k did), nearest first.
    """

    matrix: SalesMatrix
    values: np.ndarray
    predicted: np.ndarray
    fallback: np.ndarray
    unfilled: np.ndarray
    neighbors_used: np.ndarray
    model: "Model"
    neighbors: tuple | None = None

    def prediction(self, i: int, j: int) -> "Prediction":
        """The prediction of cell (i, j) with its explanation, as ``model.predict`` would give it."""
        m = self.matrix
        if self.neighbors is None or not self.predicted[i, j]:
            return self.model.predict(m.salespeople[i], m.clients[j])
        idx, dist, weight = (a[i, j] for a in self.neighbors)
        keep = idx >= 0
        by_client = getattr(self.model, "by", "salesperson") == "client"
        names = m.clients if by_client else m.salespeople
        vals = m.values[i, idx[keep]] if by_client else m.values[idx[keep], j]
        nbs = [Neighbor(names[t], float(d), float(w), float(v), -1)
               for t, d, w, v in zip(idx[keep], dist[keep], weight[keep], vals)]
        k = getattr(self.model, "k", len(nbs))
        note = None
        if len(nbs) < k:
            note = f"only {len(nbs)} of the k={k} neighbours asked for could be used"
        return Prediction(m.salespeople[i], m.clients[j], float(self.values[i, j]), known=False, k=k,
                          neighbors=nbs, note=note, model=self.model.describe())

    @property
    def n_filled(self) -> int:
        return int(self.predicted.sum() + self.fallback.sum())

    @property
    def n_unfilled(self) -> int:
        return int(self.unfilled.sum())

    def unfilled_cells(self):
        """(salesperson, client, reason) for every blank left blank."""
        m = self.matrix
        return [(m.salespeople[i], m.clients[j], self.model.unfilled_reason(i, j))
                for i, j in zip(*np.nonzero(self.unfilled))]

    def summary(self) -> str:
        """One line: cells filled, cells that could not be and why (the first reason)."""
        blanks = int((~self.matrix.known).sum())
        text = f"filled {self.n_filled:,} of {blanks:,} blank cells"
        if self.fallback.any():
            text += f" ({int(self.fallback.sum()):,} by the fallback, not by neighbours)"
        if self.n_unfilled:
            i, j = (int(a[0]) for a in np.nonzero(self.unfilled))  # the first, without listing them all
            m = self.matrix
            sp, cl, why = m.salespeople[i], m.clients[j], self.model.unfilled_reason(i, j)
            more = f" and {self.n_unfilled - 1:,} more" if self.n_unfilled > 1 else ""
            text += f"; {self.n_unfilled:,} could not be filled ({sp}/{cl}: {why}{more})"
        return text


class Model(ABC):
    """The interface every model implements."""

    name = "model"

    @abstractmethod
    def fit(self, matrix) -> "Model":
        """Validate the parameters and learn from the known cells of ``matrix``."""

    @abstractmethod
    def fill(self) -> FillResult:
        """Predict every blank cell of the fitted matrix."""

    @abstractmethod
    def predict(self, salesperson, client) -> Prediction:
        """Predict and explain one cell."""

    @abstractmethod
    def describe(self) -> str:
        """The parameters in a few words, for explanations."""

    def unfilled_reason(self, i: int, j: int) -> str:
        return "the model could not predict this cell"

    def get_params(self) -> dict:
        import inspect

        return {p: getattr(self, p) for p in inspect.signature(type(self).__init__).parameters if p != "self"}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
