"""The baselines every model must beat, and the fallbacks of the models that can leave a cell blank.

- ``mean``: the mean of every known booking;
- ``client_mean``: the mean of the client's bookings (none for a client with no booking);
- ``salesperson_mean``: the mean of the salesperson's bookings (none for a salesperson with no booking);
- ``baseline``: the overall mean plus a salesperson offset plus a client offset, each offset shrunk towards 0
  as if it had ``reg_salesperson`` (``reg_client``) more bookings of exactly the mean: the model
  scikit-surprise calls BaselineOnly, fitted the same way (alternating least squares, clients first).

A salesperson or client the ``baseline`` model has no booking of gets an offset of 0, so it predicts every
cell of a matrix with any booking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Model
from .explanation import Explanation, format_amount
from .params import Param

__all__ = ["MeanModel", "ClientMeanModel", "SalespersonMeanModel", "BaselineModel", "BaselineExplanation"]


@dataclass(frozen=True)
class BaselineExplanation(Explanation):
    """A baseline's prediction as a sum of terms: ``terms`` is a tuple of (label, amount, signed)."""

    terms: tuple = ()

    def detail_lines(self) -> list:
        return [f"{label}: {_signed(v) if signed else format_amount(v)}" for label, v, signed in self.terms]

    def detail_rows(self) -> list:
        return [["Term", "", "", "Amount"]] + [[label, "", "", v] for label, v, _ in self.terms]


def _signed(v) -> str:
    return ("+" if v >= 0 else "-") + format_amount(abs(v))


def _line_means(matrix, axis):
    """The mean of each client's (axis 0) or salesperson's (axis 1) bookings, NaN where there are none, and
    the counts."""
    known = matrix.known
    sums = np.where(known, matrix.values, 0.0).sum(axis=axis)
    counts = known.sum(axis=axis)
    means = np.divide(sums, counts, out=np.full(sums.shape, np.nan), where=counts > 0)
    return means, counts


class MeanModel(Model):
    """Every blank is the mean of all known bookings.

    Examples
    --------
    >>> import numpy as np
    >>> MeanModel().fit(np.array([[1.0, np.nan], [2.0, 6.0]])).fill().values[0, 1]
    np.float64(3.0)
    """

    name = "mean"
    summary = "the mean of all known bookings"
    PARAMS = ()

    def __init__(self):
        pass

    def _fit(self, matrix):
        self.matrix_ = matrix
        self.mean_ = float(matrix.values[matrix.known].mean())
        return self

    def _predict_cells(self, rows, cols):
        return np.full(rows.shape, self.mean_)

    def explain(self, i, j):
        m = self.matrix_
        return self._known(i, j) or BaselineExplanation(
            m.salespeople[i], m.clients[j], self.mean_, model=self.describe(),
            terms=((f"mean of all {int(m.known.sum()):,} bookings", self.mean_, False),))

    def describe(self):
        return "the mean of all bookings"

    def _learned_meta(self):
        return {"mean": self.mean_}

    STATE_NUMBERS = ("mean",)
    STATE_PREDICTS = True

    def _restore(self, matrix, learned, arrays):
        if matrix is not None:
            self.matrix_ = matrix
        self.mean_ = float(learned["mean"])

    def _fold_in(self, matrix, rmap, cmap):
        model = self.clone()
        model.matrix_, model.mean_ = matrix, self.mean_
        return model, []


class _LineMeanModel(Model):
    """The mean of one line (a client's column, or a salesperson's row)."""

    PARAMS = ()
    axis = 0  # 0: a client's column; 1: a salesperson's row

    def __init__(self):
        pass

    def _fit(self, matrix):
        self.matrix_ = matrix
        self.means_, self.counts_ = _line_means(matrix, self.axis)
        return self

    def _predict_cells(self, rows, cols):
        return self.means_[cols if self.axis == 0 else rows]

    def _labels(self, i, j):
        m = self.matrix_
        return (m.clients[j], j) if self.axis == 0 else (m.salespeople[i], i)

    def explain(self, i, j):
        m = self.matrix_
        known = self._known(i, j)
        if known is not None:
            return known
        label, t = self._labels(i, j)
        value = self.means_[t]
        if np.isnan(value):
            return self._nothing(i, j, self.unfilled_reason(i, j))
        return BaselineExplanation(m.salespeople[i], m.clients[j], float(value), model=self.describe(),
                                   terms=((f"mean of {label}'s {int(self.counts_[t]):,} bookings", float(value),
                                           False),))

    def unfilled_reason(self, i, j):
        label, _ = self._labels(i, j)
        what = "client" if self.axis == 0 else "salesperson"
        return f"{what} {label!r} has no booking"

    def _learned_arrays(self):
        return {"means": self.means_, "counts": self.counts_.astype(np.int64)}

    STATE_PREDICTS = True

    def _restore(self, matrix, learned, arrays):
        if matrix is not None:
            self.matrix_ = matrix
        self.means_, self.counts_ = arrays["means"], arrays["counts"]

    def _fold_in(self, matrix, rmap, cmap):
        """A client (salesperson) the model does not know: the mean of its bookings in ``matrix``."""
        own = cmap if self.axis == 0 else rmap
        means, counts = _line_means(matrix, self.axis)
        ok = own >= 0
        means[ok], counts[ok] = self.means_[own[ok]], self.counts_[own[ok]]
        model = self.clone()
        model.matrix_, model.means_, model.counts_ = matrix, means, counts
        return model, []


class ClientMeanModel(_LineMeanModel):
    """Every blank is the mean of the client's bookings.

    Examples
    --------
    >>> import numpy as np
    >>> ClientMeanModel().fit(np.array([[1.0, np.nan], [2.0, 6.0], [3.0, 8.0]])).fill().values[0, 1]
    np.float64(7.0)
    """

    name = "client_mean"
    summary = "the mean of the client's bookings"
    axis = 0
    STATE_ARRAYS = {"means": (("clients",), "f"), "counts": (("clients",), "i")}

    def describe(self):
        return "the client's mean"


class SalespersonMeanModel(_LineMeanModel):
    """Every blank is the mean of the salesperson's bookings."""

    name = "salesperson_mean"
    summary = "the mean of the salesperson's bookings"
    axis = 1
    STATE_ARRAYS = {"means": (("salespeople",), "f"), "counts": (("salespeople",), "i")}

    def describe(self):
        return "the salesperson's mean"


class BaselineModel(Model):
    """The overall mean plus a salesperson offset and a client offset, regularized.

    booking(s, c) = mu + b_s + b_c, where mu is the mean of the known bookings and the offsets minimize the
    squared error over the known cells plus ``reg_salesperson`` * sum b_s^2 + ``reg_client`` * sum b_c^2, by
    ``iterations`` rounds of alternating least squares: every client offset given the salesperson offsets
    (b_c = sum over c's bookings of (booking - mu - b_s) / (reg_client + c's bookings)), then every
    salesperson offset given the client offsets. This is scikit-surprise's BaselineOnly with
    ``{"method": "als", "reg_i": reg_client, "reg_u": reg_salesperson, "n_epochs": iterations}``.

    Parameters
    ----------
    reg_client : float, default 10
        How strongly client offsets are pulled towards 0, counted in bookings: a client with as many
        bookings as this gets half the offset its bookings alone would give it.
    reg_salesperson : float, default 15
        The same for salesperson offsets.
    iterations : int, default 10
        Rounds of alternating least squares.

    Attributes
    ----------
    mean_ : float
    salesperson_offsets_ : ndarray of shape (n_salespeople,)
    client_offsets_ : ndarray of shape (n_clients,)

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 2.0, np.nan], [3.0, 4.0, 5.0]])
    >>> m = BaselineModel(reg_client=0, reg_salesperson=0, iterations=50).fit(x)
    >>> round(float(m.fill().values[0, 2]), 6)
    3.0
    """

    name = "baseline"
    summary = "the mean plus a salesperson offset and a client offset, regularized (surprise's BaselineOnly)"
    PARAMS = (
        Param("reg_client", "float", 10.0, "how strongly client offsets are shrunk, in bookings", low=0.0),
        Param("reg_salesperson", "float", 15.0, "how strongly salesperson offsets are shrunk, in bookings",
              low=0.0),
        Param("iterations", "int", 10, "rounds of alternating least squares", low=1, high=10_000),
    )

    def __init__(self, *, reg_client=10.0, reg_salesperson=15.0, iterations=10):
        self.reg_client = reg_client
        self.reg_salesperson = reg_salesperson
        self.iterations = iterations

    def _fit(self, matrix):
        self.matrix_ = matrix
        rows, cols = np.nonzero(matrix.known)
        r = matrix.values[rows, cols]
        n, m = matrix.shape
        mu = float(r.mean())
        n_s = np.bincount(rows, minlength=n)
        n_c = np.bincount(cols, minlength=m)
        bs, bc = np.zeros(n), np.zeros(m)
        with np.errstate(invalid="ignore", divide="ignore"):  # a line with no booking and no regularization
            for _ in range(self.iterations):
                bc = np.bincount(cols, weights=r - mu - bs[rows], minlength=m) / (self.reg_client + n_c)
                bc[n_c == 0] = 0.0
                bs = np.bincount(rows, weights=r - mu - bc[cols], minlength=n) / (self.reg_salesperson + n_s)
                bs[n_s == 0] = 0.0
        self.mean_, self.salesperson_offsets_, self.client_offsets_ = mu, bs, bc
        return self

    def _predict_cells(self, rows, cols):
        return self.mean_ + self.salesperson_offsets_[rows] + self.client_offsets_[cols]

    def explain(self, i, j):
        m = self.matrix_
        known = self._known(i, j)
        if known is not None:
            return known
        mu, bs, bc = self.mean_, float(self.salesperson_offsets_[i]), float(self.client_offsets_[j])
        return BaselineExplanation(m.salespeople[i], m.clients[j], mu + bs + bc, model=self.describe(),
                                   terms=(("mean of all bookings", mu, False),
                                          (f"{m.salespeople[i]}'s offset", bs, True),
                                          (f"{m.clients[j]}'s offset", bc, True)))

    def describe(self):
        return (f"mean + salesperson and client offsets, shrunk by {self.reg_salesperson:g} and "
                f"{self.reg_client:g} bookings")

    def short(self):
        return "baseline"

    def _learned_meta(self):
        return {"mean": self.mean_}

    def _learned_arrays(self):
        return {"salesperson_offsets": self.salesperson_offsets_, "client_offsets": self.client_offsets_}

    STATE_ARRAYS = {"salesperson_offsets": (("salespeople",), "f"), "client_offsets": (("clients",), "f")}
    STATE_NUMBERS = ("mean",)
    STATE_PREDICTS = True

    def _restore(self, matrix, learned, arrays):
        if matrix is not None:
            self.matrix_ = matrix
        self.mean_ = float(learned["mean"])
        self.salesperson_offsets_ = arrays["salesperson_offsets"]
        self.client_offsets_ = arrays["client_offsets"]

    def _fold_in(self, matrix, rmap, cmap):
        """A salesperson the model does not know gets the offset the fit's last step would give it with the
        clients' offsets fixed: its bookings with the model's clients, less the mean and their offsets,
        summed and divided by ``reg_salesperson`` plus their count (0 with none); a client the same against
        the salespeople the model knows."""
        x, mu = matrix.values, self.mean_
        bs = np.zeros(matrix.shape[0])
        bc = np.zeros(matrix.shape[1])
        ok_r, ok_c = rmap >= 0, cmap >= 0
        bs[ok_r] = self.salesperson_offsets_[rmap[ok_r]]
        bc[ok_c] = self.client_offsets_[cmap[ok_c]]
        with np.errstate(invalid="ignore", divide="ignore"):
            for own, other, ok, offsets, b, reg, axis in ((rmap, cmap, ok_c, bc, bs, self.reg_salesperson, 1),
                                                          (cmap, rmap, ok_r, bs, bc, self.reg_client, 0)):
                new = own < 0
                if not new.any():
                    continue
                resid = x - mu - (offsets[None, :] if axis == 1 else offsets[:, None])
                mask = ~np.isnan(x) & (ok[None, :] if axis == 1 else ok[:, None])
                total = np.where(mask, resid, 0.0).sum(axis=axis)
                count = mask.sum(axis=axis)
                value = np.where(count > 0, total / (reg + count), 0.0)
                b[new] = np.where(np.isfinite(value[new]), value[new], 0.0)
        model = self.clone()
        model.matrix_, model.mean_ = matrix, mu
        model.salesperson_offsets_, model.client_offsets_ = bs, bc
        return model, []
