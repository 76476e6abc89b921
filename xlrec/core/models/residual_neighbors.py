"""``baseline_neighbors``: the article's neighbours, voting on what each booked above or below its baseline.

For a blank (salesperson s, client c)::

    prediction = b(s, c) + sum_v sim(s, v) * (booking(v, c) - b(v, c)) / sum_v sim(s, v)

where ``b`` is the regularized ``baseline`` model (mean + salesperson offset + client offset) and v runs over
the ``k`` salespeople most similar to s among those who booked c, keeping those of positive similarity (none:
the baseline alone). The similarity is the Pearson correlation of the two salespeople's baseline residuals
over the clients both booked, shrunk towards 0 when they share few clients::

    sim(s, v) = (n_sv - 1) / (n_sv - 1 + shrinkage) * sum e_s e_v / sqrt(sum e_s^2 * sum e_v^2)

with ``e = booking - b`` and n_sv the clients both booked. This is scikit-surprise's KNNBaseline with its
``pearson_baseline`` similarity, its best neighbour model; ``by="client"`` compares clients instead. Ties in
similarity go to the salesperson higher in the matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .base import Model
from .baseline import BaselineModel
from .explanation import Explanation, format_amount
from .factorization import FactorizationModel
from .neighbors import BY
from .params import Param

__all__ = ["BaselineNeighborModel", "ResidualExplanation"]

_BLOCK_ELEMENTS = 1 << 22  # similarities of one block of rows (rows x salespeople): 32 MiB


@dataclass(frozen=True)
class ResidualExplanation(Explanation):
    """The baseline of the cell, then the neighbours (name, similarity, booking, their baseline) and the
    correction they vote for."""

    baseline: float = 0.0
    correction: float = 0.0
    base: str = "baseline (mean + offsets)"
    neighbors: tuple = ()

    def detail_lines(self) -> list:
        lines = [f"{self.base}: {format_amount(self.baseline)}"]
        lines += [f"{name}: {format_amount(v)}, {('+' if v - b >= 0 else '-') + format_amount(abs(v - b))} against "
                  f"their baseline (similarity {sim:.2f})" for name, sim, v, b in self.neighbors]
        if self.neighbors:
            lines.append(f"correction voted: {('+' if self.correction >= 0 else '-') + format_amount(abs(self.correction))}")
        else:
            lines.append("no similar salesperson booked this client: the baseline alone")
        return lines

    def detail_rows(self) -> list:
        rows = [["Neighbour", "Similarity", "Their baseline", "Booking"], [self.base, "", "", self.baseline]]
        rows += [[name, sim, b, v] for name, sim, v, b in self.neighbors]
        rows.append(["Correction voted", "", "", self.correction])
        return rows


class BaselineNeighborModel(Model):
    """Neighbours voting on baseline residuals, with a shrunk Pearson similarity (surprise's KNNBaseline).

    Parameters
    ----------
    k : int, default 40
        How many of the most similar salespeople (who booked the client) may vote.
    shrinkage : float, default 100
        Pulls the similarity of two salespeople who share few clients towards 0 (0: no shrinking).
    by : {"salesperson", "client"}, default "salesperson"
        Whether neighbours are similar salespeople (rows) or similar clients (columns).
    reg_client, reg_salesperson : float, default 10 and 15
        The baseline's regularization (see the ``baseline`` model).
    base : {"baseline", "mf"}, default "baseline"
        The model whose residuals the neighbours vote on: the regularized ``baseline`` (surprise's
        KNNBaseline), or ``mf`` (matrix factorization with ``rank`` factors and its other defaults), which
        leaves the neighbours what the factors miss.
    rank : int, default 10
        The factors of the ``mf`` base.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 2.0, np.nan], [1.0, 2.0, 3.0], [2.0, 3.0, 5.0], [5.0, 1.0, 1.0]])
    >>> e = BaselineNeighborModel(shrinkage=0).fit(x).explain(0, 2)
    >>> round(e.baseline, 3), [(name, round(sim, 2)) for name, sim, _, _ in e.neighbors], round(e.value, 3)
    (2.41, [('R2', 1.0), ('R3', 0.54)], 3.591)
    """

    name = "baseline_neighbors"
    summary = "neighbours voting on bookings above or below the baseline, by a shrunk Pearson similarity " \
              "(surprise's KNNBaseline)"
    source = "neighbours"
    PARAMS = (
        Param("k", "int", 40, "how many of the most similar salespeople may vote", low=1),
        Param("shrinkage", "float", 100.0, "pulls the similarity of salespeople sharing few clients towards 0",
              low=0.0),
        Param("by", "choice", "salesperson", "neighbours are similar salespeople (rows) or similar clients "
              "(columns)", choices=BY),
        Param("reg_client", "float", 10.0, "how strongly client offsets are shrunk, in bookings", low=0.0),
        Param("reg_salesperson", "float", 15.0, "how strongly salesperson offsets are shrunk, in bookings",
              low=0.0),
        Param("base", "choice", "baseline", "the model whose residuals the neighbours vote on: baseline or mf",
              choices=("baseline", "mf")),
        Param("rank", "int", 10, "factors of the mf base", low=1, high=1000),
    )

    def __init__(self, *, k=40, shrinkage=100.0, by="salesperson", reg_client=10.0, reg_salesperson=15.0,
                 base="baseline", rank=10):
        self.k = k
        self.shrinkage = shrinkage
        self.by = by
        self.reg_client = reg_client
        self.reg_salesperson = reg_salesperson
        self.base = base
        self.rank = rank

    def describe(self):
        base = "baseline" if self.base == "baseline" else f"rank-{self.rank} mf"
        return f"k={self.k} neighbours on {base} residuals, pearson similarity shrunk by {self.shrinkage:g}, " \
               f"by {self.by}"

    def _fit(self, matrix):
        self.matrix_ = matrix
        if self.base == "mf":
            self.baseline_ = FactorizationModel(rank=self.rank)._fit(matrix)
        else:
            self.baseline_ = BaselineModel(reg_client=self.reg_client, reg_salesperson=self.reg_salesperson)._fit(matrix)
        x = matrix.values if self.by == "salesperson" else matrix.values.T
        n, m = x.shape
        rows, cols = np.nonzero(~np.isnan(x))
        sp, cl = (rows, cols) if self.by == "salesperson" else (cols, rows)
        e = x[rows, cols] - self.baseline_._predict_cells(sp, cl)
        self._x = x
        self._E = sparse.csr_matrix((e, (rows, cols)), shape=(n, m))
        self._E2 = sparse.csr_matrix((e * e, (rows, cols)), shape=(n, m))
        self._M = sparse.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n, m))
        self._ET, self._E2T, self._MT = (a.T.tocsr() for a in (self._E, self._E2, self._M))
        return self

    def _similarities(self, block):
        """Shrunk Pearson similarities of the rows ``block`` to every row, -inf on the diagonal."""
        num = (self._E[block] @ self._ET).toarray()
        a = (self._E2[block] @ self._MT).toarray()  # sum of the block row's squares over the shared columns
        b = (self._M[block] @ self._E2T).toarray()  # the other row's
        shared = (self._M[block] @ self._MT).toarray()
        with np.errstate(invalid="ignore", divide="ignore"):
            sim = num / np.sqrt(a * b)
            shrink = np.maximum(shared - 1, 0) / (np.maximum(shared - 1, 0) + self.shrinkage)
        sim = np.where(np.isfinite(sim), sim, 0.0) * np.where(np.isfinite(shrink), shrink, 0.0)
        rr = np.arange(block.stop - block.start)
        sim[rr, block.start + rr] = -np.inf
        return sim

    def _oriented(self, rows, cols):
        return (rows, cols) if self.by == "salesperson" else (cols, rows)

    def _votes(self, r, c, want_detail=False):
        """(correction, detail) for oriented cells (r, c): the similarity-weighted mean residual of the k most
        similar rows that booked c, positive similarities only (0 when there is none)."""
        x = self._x
        known = ~np.isnan(x)
        n = x.shape[0]
        out = np.zeros(r.size)
        detail = {}
        order = np.argsort(r, kind="stable")
        block_rows = max(1, _BLOCK_ELEMENTS // max(n, 1))
        e_dense_cols = {}
        for lo in range(0, n, block_rows):
            hi = min(n, lo + block_rows)
            a, b = np.searchsorted(r[order], [lo, hi])
            if a == b:
                continue
            cells = order[a:b]
            sim = self._similarities(slice(lo, hi))
            cc = c[cells]
            by_col = np.argsort(cc, kind="stable")
            cols_here, starts = np.unique(cc[by_col], return_index=True)
            for col, group in zip(cols_here, np.split(cells[by_col], starts[1:])):
                donors = np.flatnonzero(known[:, col])
                if donors.size == 0:
                    continue
                resid = e_dense_cols.get(col)
                if resid is None:
                    resid = e_dense_cols[col] = self._ET[col].toarray()[0, donors]
                s = sim[np.ix_(r[group] - lo, donors)]
                kk = min(self.k, donors.size)
                # the k most similar, ties to the lower row: sort by (-similarity, row)
                top = np.argsort(-s, axis=1, kind="stable")[:, :kk]
                st = np.take_along_axis(s, top, axis=1)
                use = st > 0
                w = np.where(use, st, 0.0)
                total = w.sum(axis=1)
                with np.errstate(invalid="ignore", divide="ignore"):
                    corr = np.where(total > 0, (w * resid[top]).sum(axis=1) / total, 0.0)
                out[group] = corr
                if want_detail:
                    for t, cell in enumerate(group):
                        detail[int(cell)] = [(int(donors[top[t, q]]), float(st[t, q])) for q in range(kk) if use[t, q]]
        return out, detail

    def _predict_cells(self, rows, cols):
        r, c = self._oriented(rows, cols)
        corr, _ = self._votes(np.asarray(r), np.asarray(c))
        return self.baseline_._predict_cells(rows, cols) + corr

    def explain(self, i, j):
        known = self._known(i, j)
        if known is not None:
            return known
        m = self.matrix_
        r, c = self._oriented(np.array([i]), np.array([j]))
        corr, detail = self._votes(r, c, want_detail=True)
        base = float(self.baseline_._predict_cells(np.array([i]), np.array([j]))[0])
        names = m.salespeople if self.by == "salesperson" else m.clients
        nbs = []
        for v, sim in detail.get(0, []):
            si, cj = (v, j) if self.by == "salesperson" else (i, v)
            b = float(self.baseline_._predict_cells(np.array([si]), np.array([cj]))[0])
            nbs.append((names[v], sim, float(m.values[si, cj]), b))
        return ResidualExplanation(m.salespeople[i], m.clients[j], base + float(corr[0]), model=self.describe(),
                                   baseline=base, correction=float(corr[0]), neighbors=tuple(nbs),
                                   base="baseline (mean + offsets)" if self.base == "baseline"
                                   else "matrix factorization")
