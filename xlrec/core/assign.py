"""Who should own each client: the assignment of clients to salespeople that maximizes the expected bookings.

A pair's **expected bookings** E[i, j] is the booking when the cell is known and the model's prediction
otherwise (0 where nothing can be predicted). The assignment x (x[i, j] = 1 when salesperson i owns client j)
maximizes

    sum over owned pairs of  E[i, j] + bonus[i, j]

where ``bonus[i, j] = keep_bonus + keep_share * max(E[i, j], 0)`` when i is one of client j's owners today
(continuity: a move must pay more than the bonus), 0 otherwise, subject to

- every client has exactly ``owners_per_client`` owners (default 1);
- salesperson i owns at most ``capacity[i]`` clients and at least ``min_clients[i]``;
- ``locks`` (pairs that must stay) and ``forbids`` (pairs that must not be);
- ``max_share``: no salesperson's expected total exceeds this share of the assignment's expected total.

**Ties** (a documented total rule up to the last step): among the assignments of the largest total
(totals within ``TIE_TOLERANCE`` times the largest weight of each other are equal), the one keeping the most
of today's owners; among those, the one whose owners sit highest in the matrix (the smallest sum of their
row positions); an assignment still tied with another on all three is the solver's, which is deterministic:
the same input gives the same assignment.

**How it is solved** (all exact; ``Solution.solver`` says which):

- ``"per client"``: without capacities, minimums or max-share and with one owner per client, the problem
  separates: each client goes to its best pair (then the tie rule), vectorized over the whole matrix.
- ``"shortest paths"``: with capacities, one owner per client, and no minimums or locks (the common case,
  and the one that reaches thousands of salespeople x tens of thousands of clients): the transportation
  problem as a min-cost flow solved exactly by successive shortest paths over the salespeople
  (:func:`_transport_numpy`, compiled when numba is installed). Its node potentials are optimal duals of the
  LP below; they are checked against every pair of the full matrix, then the ties are broken on the optimal
  face they describe exactly as below.
- ``"transportation LP"``: with capacities and minimums (and several owners or locks) the problem is a bipartite
  b-matching whose constraint matrix is totally unimodular, so the LP's vertex optimum is integral. HiGHS'
  dual simplex (:func:`scipy.optimize.linprog`) solves it on a pruned set of candidate pairs (the best
  ``k`` per client, today's owners, the locks); the duals then price every pair of the full matrix (in
  blocks) and any pair that would improve the optimum is added and the LP solved again (column generation)
  until none does: then the restricted optimum is the optimum of the full problem. The ties are then broken
  exactly, not by perturbation: the pairs and capacity rows that complementary slackness allows at the
  optimum (reduced cost zero within the tolerance; pairs priced positive are forced in, rows with a nonzero
  dual stay at their bound) describe *every* optimal assignment, and two more LPs over that face maximize
  the owners kept, then minimize the sum of the owners' positions.
- ``"MILP"``: with ``max_share`` (not totally unimodular), :func:`scipy.optimize.milp` (HiGHS branch and
  bound) over every pair, in three solves: the largest total, then the most kept with the total held at its
  optimum (within the tolerance), then the smallest sum of positions. Meant for sheets of hundreds of
  salespeople and clients, not millions of pairs.

Infeasible constraints raise :class:`~xlrec.exceptions.InputError` with one line naming the constraint and
by how much it fails ("42 clients but the capacities add up to 40").
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from ..exceptions import InputError
from . import _accel

__all__ = ["assign", "Assignment", "solve_assignment", "Solution", "TIE_TOLERANCE", "today_owners"]

#: two totals closer than this times the largest weight (expected bookings plus bonus) are tied
TIE_TOLERANCE = 1e-9
_HIGHS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}
_BLOCK = 1 << 22  # pairs priced at once when the duals are checked against the full matrix
_FIRST_K = 8
_ADD_PER_CLIENT = 4  # improving pairs added per client and round of the column generation
_DUAL_ZERO = 1e-9  # a dual (of weights divided by the largest) smaller than this in size is zero  # candidate salespeople per client in the first restricted LP


@dataclass(frozen=True, eq=False)
class Solution:
    """An optimal assignment.

    Attributes
    ----------
    rows, cols : ndarray of int
        The owned pairs (salesperson ``rows[t]`` owns client ``cols[t]``), sorted by client, then salesperson.
    objective : float
        The total of expected bookings plus bonuses of the owned pairs.
    kept : int
        Owned pairs that are today's owners.
    solver : str
        ``"per client"``, ``"shortest paths"``, ``"transportation LP"`` or ``"MILP"`` (see the module's
        text).
    rounds : int
        LP solves of the column generation (1 when the first candidate set held the optimum).
    candidates : int
        Pairs in the last restricted LP.
    seconds : float
    """

    rows: np.ndarray
    cols: np.ndarray
    objective: float
    kept: int
    solver: str
    rounds: int = 1
    candidates: int = 0
    seconds: float = 0.0


def today_owners(values, known=None) -> np.ndarray:
    """Today's owner of each client: the salesperson with its largest booking (positive), the one higher in the
    matrix on a tie; -1 for a client without a positive booking.

    >>> today_owners(np.array([[1.0, np.nan, 0.0], [3.0, 2.0, 0.0]]))
    array([ 1,  1, -1])
    """
    values = np.asarray(values, dtype=float)
    v = np.where(np.isnan(values) if known is None else ~known, -np.inf, values)
    best = np.argmax(v, axis=0)
    top = v[best, np.arange(v.shape[1])] if v.shape[1] else np.zeros(0)
    return np.where(top > 0, best, -1)


def _names(names, n, m):
    if names is None:
        return [f"R{i + 1}" for i in range(n)], [f"C{j + 1}" for j in range(m)]
    return list(names[0]), list(names[1])


def _per_person(value, n, what, default):
    """An int, a sequence of n, or None, as a float array (inf = no limit)."""
    if value is None:
        return np.full(n, default, dtype=float)
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise InputError(f"{what}: {arr.size} values for {n} salespeople")
    arr = np.where(np.isnan(arr), default, arr)
    if (arr < 0).any() or (np.isfinite(arr) & (arr != np.round(arr))).any():
        raise InputError(f"{what} must be whole numbers of at least 0")
    return arr


def _pairs(pairs, n, m, what):
    out = np.asarray(list(pairs), dtype=np.int64).reshape(-1, 2)
    if out.size and ((out[:, 0] < 0) | (out[:, 0] >= n) | (out[:, 1] < 0) | (out[:, 1] >= m)).any():
        raise InputError(f"a {what} pair is outside the matrix")
    return np.unique(out, axis=0)


def solve_assignment(expected, *, capacity=None, min_clients=None, owners_per_client=1, current=None,
                     keep_bonus=0.0, keep_share=0.0, locks=(), forbids=(), max_share=None, names=None,
                     solver=None) -> Solution:
    """The optimal assignment of clients to salespeople (see the module's text for the problem and the rules).

    Parameters
    ----------
    expected : ndarray of shape (n_salespeople, n_clients)
        Expected bookings of every pair, finite.
    capacity, min_clients : int, sequence of n_salespeople, or None
        At most / at least this many clients per salesperson (NaN or None: no limit).
    owners_per_client : int
    current : ndarray of bool of shape (n_salespeople, n_clients), or None
        Today's owners.
    keep_bonus : float
        Added per owned pair that is a pair of today's.
    keep_share : float
        Added per kept pair, times its expected bookings (0.1: a tenth of them).
    locks, forbids : iterables of (salesperson index, client index)
    max_share : float in (0, 1] or None
    names : (salespeople, clients) or None
        For the messages.
    solver : str or None
        None chooses (see the module's text); ``"transportation LP"`` uses the column generation where the
        shortest paths would do (the tests hold the two against each other).

    Returns
    -------
    Solution

    Examples
    --------
    >>> s = solve_assignment(np.array([[5.0, 4.0], [3.0, 1.0]]), capacity=1)
    >>> s.rows.tolist(), s.cols.tolist(), s.objective
    ([1, 0], [0, 1], 7.0)
    """
    start = time.perf_counter()
    E = np.asarray(expected, dtype=float)
    if E.ndim != 2:
        raise InputError("the expected bookings must be a 2-D table")
    if not np.isfinite(E).all():
        raise InputError("the expected bookings must be finite numbers")
    n, m = E.shape
    people, clients = _names(names, n, m)
    r = int(owners_per_client)
    if r != owners_per_client or r < 1:
        raise InputError(f"owners per client must be a whole number of at least 1, not {owners_per_client!r}")
    U = np.minimum(_per_person(capacity, n, "capacity", np.inf), m)
    L = _per_person(min_clients, n, "min-clients", 0.0)
    cur = np.zeros((n, m), dtype=bool) if current is None else np.asarray(current, dtype=bool)
    if cur.shape != (n, m):
        raise InputError(f"today's owners: shape {cur.shape} for a matrix of {n} x {m}")
    for what, v in (("keep-bonus", keep_bonus), ("keep-share", keep_share)):
        if not np.isfinite(v) or v < 0:
            raise InputError(f"{what} must be a number of at least 0, not {v!r}")
    if max_share is not None and not 0 < max_share <= 1:
        raise InputError(f"max-share must be a share above 0 and at most 1 (100%), not {max_share!r}")
    locks, forbids = _pairs(locks, n, m, "lock"), _pairs(forbids, n, m, "forbid")
    _check(E, U, L, r, locks, forbids, max_share, people, clients)

    cur_i, cur_j = np.nonzero(cur)
    bonus = keep_bonus + keep_share * np.maximum(E[cur_i, cur_j], 0.0)
    scale = float(max(np.abs(E).max(initial=0.0), (E[cur_i, cur_j] + bonus).max(initial=0.0), 1e-300))
    problem = _Problem(E, cur, cur_i, cur_j, bonus, scale, U, L, r, locks, forbids, people, clients)
    no_rows = np.isinf(_per_person(capacity, n, "capacity", np.inf)).all() and not L.any()
    if max_share is not None:
        x, solver, rounds, cands = _milp(problem, max_share), "MILP", 1, n * m
    elif no_rows and r == 1:
        x, solver, rounds, cands = _per_client(problem), "per client", 1, n * m
    elif r == 1 and not L.any() and not locks.size and solver != "transportation LP":
        x, solver, rounds, cands = _shortest_paths(problem)
    else:
        x, solver, rounds, cands = _column_generation(problem)
    rows, cols = x
    order = np.lexsort((rows, cols))
    rows, cols = rows[order], cols[order]
    w = problem.weights(rows, cols)
    kept = int(cur[rows, cols].sum())
    return Solution(rows, cols, float(w.sum()), kept, solver, rounds, cands, time.perf_counter() - start)


# -- feasibility: one line for what cannot be met --------------------------------------------------------------

def _check(E, U, L, r, locks, forbids, max_share, people, clients):
    n, m = E.shape
    count = f"{m:,} clients" if r == 1 else f"{m:,} clients x {r} owners = {m * r:,} places"
    if r > n:
        raise InputError(f"owners-per-client {r}, but there are only {n} salespeople")
    bad = np.flatnonzero(L > U)
    if bad.size:
        i = int(bad[0])
        raise InputError(f"salesperson {people[i]!r}: at least {int(L[i])} clients but at most {int(U[i])} "
                         f"({'capacity' if U[i] < m else 'there are only that many clients'})")
    if U.sum() < m * r:
        raise InputError(f"{count} but the capacities add up to {int(U.sum()):,} (short by {int(m * r - U.sum()):,})")
    if L.sum() > m * r:
        raise InputError(f"the minimums add up to {int(L.sum()):,} clients but there are {count} "
                         f"(over by {int(L.sum() - m * r):,})")
    if locks.size and forbids.size:
        both = (locks[:, None, :] == forbids[None, :, :]).all(axis=2).any(axis=1)
        if both.any():
            i, j = locks[np.argmax(both)]
            raise InputError(f"{people[i]!r} / {clients[j]!r} is both locked and forbidden")
    if locks.size:
        per_client = np.bincount(locks[:, 1], minlength=m)
        if (per_client > r).any():
            j = int(np.argmax(per_client > r))
            raise InputError(f"client {clients[j]!r}: {per_client[j]} locked owners but {r} owner"
                             f"{'s' if r > 1 else ''} per client")
        per_person = np.bincount(locks[:, 0], minlength=n)
        if (per_person > U).any():
            i = int(np.argmax(per_person > U))
            raise InputError(f"salesperson {people[i]!r}: {per_person[i]} locked clients but a capacity of "
                             f"{int(U[i])} (over by {int(per_person[i] - U[i])})")
    if forbids.size:
        allowed = n - np.bincount(forbids[:, 1], minlength=m)
        if (allowed < r).any():
            j = int(np.argmax(allowed < r))
            raise InputError(f"client {clients[j]!r}: {n - allowed[j]} of the {n} salespeople are forbidden, "
                             f"leaving {allowed[j]} for {r} owner{'s' if r > 1 else ''}")
        forbidden_per_person = np.bincount(forbids[:, 0], minlength=n)
        short = L > m - forbidden_per_person
        if short.any():
            i = int(np.argmax(short))
            raise InputError(f"salesperson {people[i]!r}: at least {int(L[i])} clients but only "
                             f"{m - forbidden_per_person[i]} are not forbidden")
    if max_share is not None and max_share * n < 1 - 1e-12:
        raise InputError(f"max-share {max_share:.4g} with {n} salespeople: the shares add up to 100%, so the cap "
                         f"must be at least {1 / n:.4g} (1/{n})")


def _infeasible(p) -> InputError:
    """Capacities, minimums, locks and forbids that pass the simple counts but not together: how many places
    can be filled at most (a max-flow, solved as an LP), or that the minimums are what fails."""
    n, m = p.E.shape
    rows, cols = p.allowed_pairs()
    a_eq = sparse.csr_array((np.ones(rows.size), (cols, np.arange(rows.size))), shape=(m, rows.size))
    a_ub = sparse.csr_array((np.ones(rows.size), (rows, np.arange(rows.size))), shape=(n, rows.size))
    lo = np.zeros(rows.size)
    lo[p.locked(rows, cols)] = 1
    res = linprog(-np.ones(rows.size), A_ub=sparse.vstack([a_eq, a_ub]), b_ub=np.r_[np.full(m, p.r), p.U],
                  bounds=np.c_[lo, np.ones(rows.size)], method="highs-ds")
    places = m * p.r
    if res.status == 0 and -res.fun < places - 0.5:
        got = int(round(-res.fun))
        return InputError(f"only {got:,} of the {places:,} client places can be filled within the capacities, locks "
                          f"and forbids (short by {places - got:,})")
    return InputError("the minimum clients per salesperson cannot be met together with the capacities, locks and "
                      "forbids")


# -- the problem, as the solvers see it -------------------------------------------------------------------------

class _Problem:
    def __init__(self, E, cur, cur_i, cur_j, bonus, scale, U, L, r, locks, forbids, people, clients):
        self.E, self.cur, self.scale, self.U, self.L, self.r = E, cur, scale, U, L, r
        n, m = E.shape
        self.cur_key = cur_i * m + cur_j  # sorted (np.nonzero is row-major)
        self.cur_bonus = bonus
        self.locks, self.forbids = locks, forbids
        self.lock_key = np.sort(locks[:, 0] * m + locks[:, 1]) if locks.size else np.zeros(0, np.int64)
        self.forbid_key = np.sort(forbids[:, 0] * m + forbids[:, 1]) if forbids.size else np.zeros(0, np.int64)
        self.people, self.clients = people, clients

    @staticmethod
    def _member(keys, sorted_keys):
        if not sorted_keys.size:
            return np.zeros(keys.shape, dtype=bool)
        at = np.searchsorted(sorted_keys, keys).clip(max=sorted_keys.size - 1)
        return sorted_keys[at] == keys

    def bonus(self, rows, cols):
        keys = rows.astype(np.int64) * self.E.shape[1] + cols
        out = np.zeros(keys.shape)
        if self.cur_key.size:
            at = np.searchsorted(self.cur_key, keys).clip(max=self.cur_key.size - 1)
            hit = self.cur_key[at] == keys
            out[hit] = self.cur_bonus[at[hit]]
        return out

    def weights(self, rows, cols):
        return self.E[rows, cols] + self.bonus(rows, cols)

    def locked(self, rows, cols):
        return self._member(rows.astype(np.int64) * self.E.shape[1] + cols, self.lock_key)

    def forbidden(self, rows, cols):
        return self._member(rows.astype(np.int64) * self.E.shape[1] + cols, self.forbid_key)

    def weight_block(self, j0, j1):
        """Weights of the clients j0..j1 (every salesperson), forbidden pairs -inf."""
        n, m = self.E.shape
        w = self.E[:, j0:j1].copy()
        for keys, values in ((self.cur_key, self.cur_bonus), (self.forbid_key, None)):
            if not keys.size:
                continue
            i, j = np.divmod(keys, m)
            sel = (j >= j0) & (j < j1)
            if values is None:
                w[i[sel], j[sel] - j0] = -np.inf
            else:
                w[i[sel], j[sel] - j0] += values[sel]
        return w

    def allowed_pairs(self):
        n, m = self.E.shape
        allowed = np.ones((n, m), dtype=bool)
        if self.forbids.size:
            allowed[self.forbids[:, 0], self.forbids[:, 1]] = False
        return np.nonzero(allowed)


# -- per client: no capacities, one owner ---------------------------------------------------------------------

def _per_client(p):
    n, m = p.E.shape
    tol = TIE_TOLERANCE * p.scale
    owners = np.empty(m, dtype=np.int64)
    step = max(1, _BLOCK // max(n, 1))
    pos = np.arange(n)[:, None]
    for j0 in range(0, m, step):
        j1 = min(m, j0 + step)
        w = p.weight_block(j0, j1)
        if p.locks.size:  # a locked pair is the client's owner, whatever it weighs
            sel = (p.locks[:, 1] >= j0) & (p.locks[:, 1] < j1)
            w[:, np.unique(p.locks[sel, 1]) - j0] = -np.inf
            w[p.locks[sel, 0], p.locks[sel, 1] - j0] = np.inf
        best = w.max(axis=0)
        tied = w >= np.where(np.isinf(best), best, best - tol)
        kept = tied & p.cur[:, j0:j1]
        tied = np.where(kept.any(axis=0), kept, tied)
        owners[j0:j1] = np.where(tied, pos, n).min(axis=0)  # the highest in the matrix
    return owners, np.arange(m)


# -- the transportation LP with column generation, and the ties on its optimal face ------------------------------

def _lp(rows, cols, c, lo, hi, L, U, r, n, m, artificial=None):
    """min c x over the pairs (rows, cols): each client's pairs sum to r, each row between L and U, lo <= x <= hi.
    With ``artificial`` (a cost), every client gets an artificial column (up to r) and every row with a minimum
    a slack (up to its minimum) at that cost, so a restricted candidate set is always feasible (phase one by
    a big cost); ``res.artificial`` is then their total. Returns the result of HiGHS' dual simplex with the
    duals as ``res.y_row`` / ``res.y_client`` (min form) and the rows held at a bound."""
    k = rows.size
    idx = np.arange(k)
    upper = np.flatnonzero(U < np.bincount(rows, minlength=n))  # rows whose capacity can bind
    lower = np.flatnonzero(L > 0)
    extra = 0 if artificial is None else m + lower.size
    width = k + extra
    a_eq = sparse.csr_array((np.ones(k), (cols, idx)), shape=(m, width))
    blocks, b = [], []
    if upper.size:
        sel = np.isin(rows, upper)
        where = np.searchsorted(upper, rows[sel])
        blocks.append(sparse.csr_array((np.ones(sel.sum()), (where, idx[sel])), shape=(upper.size, width)))
        b.append(U[upper])
    if lower.size:
        sel = np.isin(rows, lower)
        where = np.searchsorted(lower, rows[sel])
        blocks.append(sparse.csr_array((-np.ones(sel.sum()), (where, idx[sel])), shape=(lower.size, width)))
        b.append(-L[lower])
    if artificial is not None:
        a_eq = a_eq + sparse.csr_array((np.ones(m), (np.arange(m), k + np.arange(m))), shape=(m, width))
        c = np.r_[c, np.full(extra, float(artificial))]
        lo = np.r_[lo, np.zeros(extra)]
        hi = np.r_[hi, np.full(m, float(r)), L[lower]]
        if lower.size:
            blocks[-1] = blocks[-1] - sparse.csr_array(
                (np.ones(lower.size), (np.arange(lower.size), k + m + np.arange(lower.size))),
                shape=(lower.size, width))
    a_ub = sparse.vstack(blocks).tocsr() if blocks else None
    res = linprog(c, A_ub=a_ub, b_ub=np.concatenate(b) if b else None, A_eq=a_eq, b_eq=np.full(m, float(r)),
                  bounds=np.c_[lo, hi], method="highs-ds", options=_HIGHS)
    y_row = np.zeros(n)  # the row duals as one number per row: upper minus lower
    if res.status == 0:
        res.artificial = float(res.x[k:].sum())
        res.x = res.x[:k]
        if upper.size:
            y_row[upper] += res.ineqlin.marginals[:upper.size]
        if lower.size:
            y_row[lower] -= res.ineqlin.marginals[upper.size:]
        res.y_row, res.y_client = y_row, res.eqlin.marginals
        # a row with a nonzero dual is at its bound in every optimal solution (complementary slackness)
        res.tight_upper = np.zeros(n, bool)
        res.tight_lower = np.zeros(n, bool)
        if upper.size:
            res.tight_upper[upper] = res.ineqlin.marginals[:upper.size] < -_DUAL_ZERO
        if lower.size:
            res.tight_lower[lower] = res.ineqlin.marginals[upper.size:] < -_DUAL_ZERO
    return res


def _candidates(p, k):
    """The best k allowed salespeople of every client, today's owners and the locks (unique keys)."""
    n, m = p.E.shape
    k = min(k, n)
    keys = [p.cur_key, p.lock_key]
    step = max(1, _BLOCK // max(n, 1))
    for j0 in range(0, m, step):
        j1 = min(m, j0 + step)
        w = p.weight_block(j0, j1)
        top = np.argpartition(-w, k - 1, axis=0)[:k] if k < n else np.broadcast_to(np.arange(n)[:, None], w.shape)
        cols = np.broadcast_to(np.arange(j0, j1), top.shape)
        ok = np.isfinite(np.take_along_axis(w, top, axis=0))
        keys.append((top[ok].astype(np.int64) * m + cols[ok]))
    # and every salesperson's best clients (by expected bookings), enough to fill a fair share of the places,
    # so that the salespeople no client ranks first have candidates too
    q = min(m, 2 * int(np.ceil(m * p.r / n)) + 2)
    if q < m:
        step = max(1, _BLOCK // m)
        for i0 in range(0, n, step):
            i1 = min(n, i0 + step)
            top = np.argpartition(-p.E[i0:i1], q - 1, axis=1)[:, :q]
            keys.append((np.arange(i0, i1, dtype=np.int64)[:, None] * m + top).ravel())
    keys = np.unique(np.concatenate(keys))
    if p.forbid_key.size:
        keys = keys[~_Problem._member(keys, p.forbid_key)]
    return keys


def _improving(p, y_row, y_client, inside, tol, per_client=_ADD_PER_CLIENT):
    """Pairs outside the candidate keys whose reduced cost (max form: w - y_row - y_client) exceeds tol: the
    best ``per_client`` of each client."""
    n, m = p.E.shape
    found = []
    step = max(1, _BLOCK // max(n, 1))
    in_i, in_j = np.divmod(inside, m)
    for j0 in range(0, m, step):
        j1 = min(m, j0 + step)
        d = p.weight_block(j0, j1) / p.scale - y_row[:, None] - y_client[None, j0:j1]
        sel = (in_j >= j0) & (in_j < j1)
        d[in_i[sel], in_j[sel] - j0] = -np.inf
        if not (d > tol).any():
            continue
        k = min(per_client, n)
        top = np.argpartition(-d, k - 1, axis=0)[:k] if k < n else np.broadcast_to(np.arange(n)[:, None], d.shape)
        good = np.take_along_axis(d, top, axis=0) > tol
        cols = np.broadcast_to(np.arange(j0, j1), top.shape)
        found.append(top[good].astype(np.int64) * m + cols[good])
    return np.concatenate(found) if found else np.zeros(0, np.int64)


def _face_pairs(p, y_row, y_client, tol):
    """Every allowed pair whose reduced cost is zero within tol (free on the optimal face) and those above
    (forced in), over the full matrix."""
    n, m = p.E.shape
    free, forced = [], []
    step = max(1, _BLOCK // max(n, 1))
    for j0 in range(0, m, step):
        j1 = min(m, j0 + step)
        d = p.weight_block(j0, j1) / p.scale - y_row[:, None] - y_client[None, j0:j1]
        for out, mask in ((free, np.abs(d) <= tol), (forced, d > tol)):
            i, j = np.nonzero(mask)
            out.append(i.astype(np.int64) * m + j + j0)
    return np.concatenate(free), np.concatenate(forced)


def _column_generation(p):
    n, m = p.E.shape
    tol = TIE_TOLERANCE * 10  # on weights divided by scale: the LP's own tolerances are 1e-10
    big = 2.0 * m * p.r + 2  # an artificial unit costs more than any two assignments differ (|w| <= 1 each)
    keys = _candidates(p, max(_FIRST_K, 2 * p.r))
    rounds = 0
    while True:
        rows, cols = np.divmod(keys, m)
        lo = p.locked(rows, cols).astype(float)
        res = _lp(rows, cols, -p.weights(rows, cols) / p.scale, lo, np.ones(rows.size), p.L, p.U, p.r, n, m,
                  artificial=big)
        rounds += 1
        if res.status != 0:
            raise InputError(f"the assignment solver stopped: {res.message}")
        # linprog's marginals are of the min form (c = -w): the max form's duals are their negatives
        y_row, y_client = -res.y_row, -res.y_client
        more = _improving(p, y_row, y_client, keys, tol)
        if not more.size:
            break
        keys = np.union1d(keys, more)
    if res.artificial > 0.5:  # optimal over every pair and still artificial: nothing feasible exists
        raise _infeasible(p)
    # the optimal face: every optimal assignment uses only these pairs and keeps these rows at their bounds
    free, forced = _face_pairs(p, y_row, y_client, tol)
    face = np.union1d(np.union1d(free, forced), p.lock_key)
    rows, cols = np.divmod(face, m)
    lo = (p.locked(rows, cols) | _Problem._member(face, forced)).astype(float)
    L, U = p.L.copy(), p.U.copy()
    L[res.tight_upper] = U[res.tight_upper]
    U[res.tight_lower] = L[res.tight_lower]
    x = _face_ties(p, rows, cols, lo, L, U)
    return (rows[x], cols[x]), "transportation LP", rounds, int(keys.size)


def _transport_numpy(ct, cap):
    """The transportation problem (each client to one salesperson, salesperson i at most ``cap[i]`` clients,
    least total cost) by successive shortest paths, exact. The compiled twin is ``_kernels.transport``: the
    same steps and the same ties, in loops.

    ``ct`` holds the costs, clients x salespeople (inf: forbidden). A min-cost flow with node potentials
    (``pi_row``, client potentials, ``pi_t`` for the sink) whose reduced costs stay >= 0 on every residual
    arc: client by client, Dijkstra from the new client over the salespeople (a full salesperson passes the
    flow on by giving up one of its clients to another; ``tmin[i, i2]`` is the cheapest such hand-over from
    a full salesperson i to i2, kept up to date as its clients change), then the potentials move by the
    distances and the path is augmented. A full salesperson stays full, so only full salespeople hand over.
    A client's potential is stored less its owner's offset ``off``, which moves with the salesperson's.

    Returns (owner of each client, row potentials, client potentials, sink potential); owner[0] = -1 when a
    client cannot be placed. The LP duals (min form, weights negated) are then ``u = pi_t - client``,
    ``v = min(pi_row - pi_t, 0)``."""
    m, n = ct.shape
    owner = np.full(m, -1, np.int64)
    members = [[] for _ in range(n)]  # each row's clients in the order they came
    count = np.zeros(n, np.int64)
    full = cap <= 0
    tmin = np.full((n, n), np.inf)
    targ = np.zeros((n, n), np.int64)
    pi_row, off, pc, pi_t = np.zeros(n), np.zeros(n), np.zeros(m), 0.0
    for j0 in range(m):
        d = ct[j0] - pi_row
        p0 = (-d).max()
        if p0 == -np.inf:  # forbidden everywhere
            owner[0] = -1
            return owner, pi_row, pc, pi_t
        d = d + p0
        dd = d.copy()
        settled = np.zeros(n, bool)
        pred_client, pred_row = np.full(n, j0), np.full(n, -1)
        dt, tgt = np.inf, -1
        while True:
            i = int(dd.argmin())
            di = dd[i]
            if not di < dt:
                break
            settled[i] = True
            dd[i] = np.inf
            if not full[i]:
                t = di + pi_row[i] - pi_t
                if t < dt:
                    dt, tgt = t, i
                continue
            cand = tmin[i] + (di + off[i]) - pi_row
            upd = (cand < dd) & ~settled
            dd[upd] = d[upd] = cand[upd]
            pred_client[upd], pred_row[upd] = targ[i, upd], i
        if tgt < 0:
            owner[0] = -1
            return owner, pi_row, pc, pi_t
        inc = np.where(settled, np.minimum(d, dt), dt)
        pi_row += inc
        off += inc
        pi_t += dt
        i = tgt
        count[tgt] += 1
        full[tgt] |= count[tgt] >= cap[tgt]
        while True:
            j, prev = pred_client[i], pred_row[i]
            if prev < 0:
                true = p0
            else:
                true = pc[j] + off[prev]
                members[prev].remove(j)
            pc[j] = true - off[i]
            members[i].append(j)
            owner[j] = i
            if full[i]:
                js = np.asarray(members[i])
                cost = ct[js] + pc[js, None]
                at = cost.argmin(axis=0)
                tmin[i], targ[i] = cost[at, np.arange(n)], js[at]
            if prev < 0:
                break
            i = prev
    return owner, pi_row, pc + off[owner], pi_t


def _shortest_paths(p):
    """One owner per client, capacities, no minimums or locks: the exact optimum's duals by successive
    shortest paths (compiled when numba is there), checked against every pair, then the ties on the optimal
    face as for the column generation. Should the check fail (it cannot, short of a bug), the column
    generation solves it instead."""
    n, m = p.E.shape
    ct = np.empty((m, n))
    step = max(1, _BLOCK // max(n, 1))
    for j0 in range(0, m, step):
        j1 = min(m, j0 + step)
        ct[j0:j1] = (-p.weight_block(j0, j1) / p.scale).T  # forbidden: +inf
    cap = np.minimum(p.U, m).astype(np.int64)
    kernel = _accel.transport if _accel.use_for(n * m) else _transport_numpy
    owner, pi_row, pi_col, pi_t = kernel(ct, cap)
    del ct
    if owner[0] < 0:
        raise _infeasible(p)
    y_row = -np.minimum(pi_row - pi_t, 0.0)  # max form: w - y_row - y_client <= 0 on every pair
    y_client = pi_col - pi_t
    tol = TIE_TOLERANCE * 10
    free, forced = _face_pairs(p, y_row, y_client, tol)
    if forced.size:  # not dual feasible: cannot happen short of a bug; the LP does it the slow way
        return _column_generation(p)
    rows, cols = np.divmod(free, m)
    L, U = p.L.copy(), p.U.copy()
    tight = y_row > _DUAL_ZERO
    L[tight] = U[tight]
    x = _face_ties(p, rows, cols, np.zeros(rows.size), L, U)
    return (rows[x], cols[x]), "shortest paths", 1, int(free.size)


def _face_ties(p, rows, cols, lo, L, U):
    """On the optimal face: the most owners kept, then the smallest sum of positions. Returns the chosen mask."""
    n, m = p.E.shape
    hi = np.ones(rows.size)
    kept = p.cur[rows, cols].astype(float)
    res = _lp(rows, cols, -kept, lo, hi, L, U, p.r, n, m)
    if res.status != 0:
        raise InputError(f"the assignment solver stopped on the ties: {res.message}")
    y_row, y_client = -res.y_row, -res.y_client
    d = kept - y_row[rows] - y_client[cols]
    keep = (d >= -1e-7) | (lo == 1)  # a pair fixed in stays, whatever its price
    lo2 = np.where(d > 1e-7, 1.0, lo)[keep]
    L2, U2 = L.copy(), U.copy()
    L2[res.tight_upper] = U2[res.tight_upper]
    U2[res.tight_lower] = L2[res.tight_lower]
    rows2, cols2 = rows[keep], cols[keep]
    res = _lp(rows2, cols2, rows2.astype(float), lo2, np.ones(rows2.size), L2, U2, p.r, n, m)
    if res.status != 0:
        raise InputError(f"the assignment solver stopped on the ties: {res.message}")
    x = np.zeros(rows.size, dtype=bool)
    chosen = res.x > 0.5
    if np.abs(res.x - chosen).max(initial=0.0) > 1e-6:  # a vertex of a totally unimodular LP is integral
        raise AssertionError("the transportation LP returned a fractional vertex")
    x[np.flatnonzero(keep)[chosen]] = True
    return x


# -- max-share: a MILP over every pair ------------------------------------------------------------------------

def _milp(p, max_share):
    n, m = p.E.shape
    rows, cols = p.allowed_pairs()
    k = rows.size
    idx = np.arange(k)
    w = p.weights(rows, cols) / p.scale
    e = p.E[rows, cols] / p.scale
    a_client = sparse.csr_array((np.ones(k), (cols, idx)), shape=(m, k))
    a_row = sparse.csr_array((np.ones(k), (rows, idx)), shape=(n, k))
    # each row's expected total minus max_share times the total <= 0
    a_share = sparse.csr_array((e, (rows, idx)), shape=(n, k)) - max_share * sparse.csr_array(
        np.broadcast_to(e, (n, k)))
    cons = [LinearConstraint(a_client, p.r, p.r), LinearConstraint(a_row, p.L, p.U),
            LinearConstraint(a_share, -np.inf, 0.0)]
    lo = p.locked(rows, cols).astype(float)
    bounds = Bounds(lo, np.ones(k))
    integrality = np.ones(k)
    options = {"mip_rel_gap": 0.0}
    res = milp(-w, constraints=cons, bounds=bounds, integrality=integrality, options=options)
    if res.status == 2 or res.x is None:
        if res.status == 2:
            raise InputError(f"no assignment keeps every salesperson's expected bookings within max-share "
                             f"{max_share:.4g} of the total (with the capacities, locks and forbids)")
        raise InputError(f"the assignment solver stopped: {res.message}")
    best = -res.fun
    tol = TIE_TOLERANCE * 10 * max(1.0, abs(best))
    kept = p.cur[rows, cols].astype(float)
    cons.append(LinearConstraint(w[None, :], best - tol, np.inf))
    res = milp(-kept, constraints=cons, bounds=bounds, integrality=integrality, options=options)
    cons.append(LinearConstraint(kept[None, :], round(-res.fun) - 0.5, np.inf))
    res = milp(rows.astype(float), constraints=cons, bounds=bounds, integrality=integrality, options=options)
    x = res.x > 0.5
    return rows[x], cols[x]


# -- the assignment of a sales matrix: names in, a table and the lift out -----------------------------------------

@dataclass(frozen=True, eq=False)
class Assignment:
    """The optimal owners of a sales matrix's clients, against today's (what :func:`xlrec.assign` returns).

    Attributes
    ----------
    matrix : SalesMatrix
    expected : ndarray of shape (n_salespeople, n_clients)
        Expected bookings: the booking where known, the model's prediction elsewhere, 0 where nothing.
    source : ndarray of str of shape (n_salespeople, n_clients)
        ``"booking"``, ``"prediction"`` or ``"none"`` (no prediction: counted as 0).
    current : ndarray of bool of shape (n_salespeople, n_clients)
        Today's owners.
    capacity : ndarray of float of shape (n_salespeople,)
        inf where there is no limit.
    solution : Solution
    """

    matrix: object
    expected: np.ndarray
    source: np.ndarray
    current: np.ndarray
    capacity: np.ndarray
    solution: Solution

    @property
    def total(self) -> float:
        """Expected bookings of the new assignment (bonuses not included)."""
        s = self.solution
        return float(self.expected[s.rows, s.cols].sum())

    @property
    def today_total(self) -> float:
        """Expected bookings of today's owners (their bookings, or predictions where an owner is named)."""
        return float(self.expected[self.current].sum())

    @property
    def lift(self) -> float:
        return self.total - self.today_total

    @property
    def moved(self) -> int:
        """Clients with an owner today whose owners change."""
        owned = self.current.any(axis=0)
        new = np.zeros(self.current.shape, bool)
        new[self.solution.rows, self.solution.cols] = True
        return int((owned & (new != self.current).any(axis=0)).sum())

    def clients_table(self) -> list:
        """Header, then one row per owned pair (per client with one owner each): client, owner, expected
        bookings, today's owner(s), kept / moved / new, booking or prediction."""
        m, s = self.matrix, self.solution
        today = {j: ", ".join(m.salespeople[i] for i in np.flatnonzero(self.current[:, j]))
                 for j in range(len(m.clients))}
        rows = [["Client", "Owner", "Expected bookings", "Today's owner", "Change", "Amount is"]]
        for i, j in zip(s.rows.tolist(), s.cols.tolist()):
            change = "kept" if self.current[i, j] else ("moved" if today[j] else "new")
            rows.append([m.clients[j], m.salespeople[i], float(self.expected[i, j]), today[j], change,
                         str(self.source[i, j])])
        return rows

    def salespeople_table(self) -> list:
        """Header, then one row per salesperson: clients, expected total, capacity used; today's clients and
        expected total beside them."""
        m, s = self.matrix, self.solution
        n = len(m.salespeople)
        count = np.bincount(s.rows, minlength=n)
        total = np.bincount(s.rows, weights=self.expected[s.rows, s.cols], minlength=n)
        today_count = self.current.sum(axis=1)
        today_total = np.where(self.current, self.expected, 0.0).sum(axis=1)
        rows = [["Salesperson", "Clients", "Expected bookings", "Capacity", "Capacity used", "Clients today",
                 "Expected bookings today"]]
        for i in range(n):
            cap = self.capacity[i]
            rows.append([m.salespeople[i], int(count[i]), float(total[i]), "" if np.isinf(cap) else int(cap),
                         "" if np.isinf(cap) or cap == 0 else float(count[i] / cap), int(today_count[i]),
                         float(today_total[i])])
        return rows

    def summary(self) -> str:
        """One line: the total against today's, the lift, clients moved, the solver."""
        s, pct = self.solution, ""
        if self.today_total:
            pct = f" ({self.lift / abs(self.today_total):+.1%})"
        return (f"expected bookings {self.total:,.2f} against {self.today_total:,.2f} with today's owners: lift "
                f"{self.lift:+,.2f}{pct}; {self.moved:,} of {int(self.current.any(axis=0).sum()):,} owned clients "
                f"move, {s.kept:,} kept ({s.solver}, {s.seconds:.2f} s)")

    def to_dict(self) -> dict:
        head, *rows = self.clients_table()
        people_head, *people = self.salespeople_table()
        return {"total": self.total, "today_total": self.today_total, "lift": self.lift, "moved": self.moved,
                "kept": self.solution.kept, "solver": self.solution.solver, "seconds": self.solution.seconds,
                "clients": [dict(zip(head, r)) for r in rows],
                "salespeople": [dict(zip(people_head, r)) for r in people]}


def _name_pairs(matrix, pairs, what):
    out = []
    for pair in pairs or ():
        if len(pair) != 2:
            raise InputError(f"a {what} is a (salesperson, client) pair, not {pair!r}")
        out.append((matrix.salesperson_index(pair[0]), matrix.client_index(pair[1])))
    return out


def _by_name(matrix, value, what):
    """An int, a sequence of n, or a {salesperson: number} mapping (the others: no limit) as a list or None."""
    if value is None or np.isscalar(value):
        return value
    if isinstance(value, dict):
        out = [np.nan] * len(matrix.salespeople)
        for name, v in value.items():
            out[matrix.salesperson_index(name)] = np.nan if v is None else float(v)
        return out
    return list(value)


def assign(matrix, *, capacity=None, min_clients=None, owners_per_client=1, keep_bonus=0.0, keep_share=0.0,
           owners=None, locks=(), forbids=(), max_share=None, model=None, filled=None, **params) -> Assignment:
    """Who should own each client: the assignment maximizing the expected bookings (see :mod:`xlrec.core.assign`).

    Parameters
    ----------
    matrix : SalesMatrix or ndarray of shape (n_salespeople, n_clients)
    capacity, min_clients : int, sequence of n_salespeople, {salesperson: int}, or None
    owners_per_client : int
    keep_bonus : float
        Added per client kept with one of today's owners (an amount).
    keep_share : float
        Added per client kept, as a share of the pair's expected bookings (0.1 = 10%).
    owners : {client: salesperson or list of salespeople}, or None
        Today's owners of the clients named; the others': the salesperson with the largest booking.
    locks, forbids : sequences of (salesperson, client) names
    max_share : float or None
        No salesperson's expected bookings above this share of the total.
    model, **params
        The model predicting the blanks (:func:`~xlrec.core.models.make_model`; default the article's).
    filled : FillResult or None
        Predictions already made for ``matrix`` (the Excel functions' cache): then no model is fitted.

    Examples
    --------
    >>> import xlrec
    >>> a = xlrec.assign(np.array([[5.0, 4.0, np.nan], [3.0, 1.0, 2.0]]), capacity=2, model="mean")
    >>> [row[:2] for row in a.clients_table()[1:]]
    [['C1', 'R1'], ['C2', 'R1'], ['C3', 'R2']]
    """
    from .models import DEFAULT_MODEL, as_matrix, make_model

    m = as_matrix(matrix)
    known = m.known
    if known.all():
        values, predicted = m.values.copy(), np.zeros(m.shape, bool)
    else:
        result = filled if filled is not None else make_model(model or DEFAULT_MODEL, **params).fit(m).fill()
        values = result.values.copy()
        predicted = result.predicted | result.fallback
    source = np.where(known, "booking", np.where(predicted, "prediction", "none"))
    expected = np.where(np.isnan(values), 0.0, values)
    current = np.zeros(m.shape, bool)
    today = today_owners(m.values, known)
    current[today[today >= 0], np.flatnonzero(today >= 0)] = True
    for client, names in (owners or {}).items():
        j = m.client_index(client)
        current[:, j] = False
        for name in [names] if isinstance(names, str) else names:
            current[m.salesperson_index(name), j] = True
    cap = _by_name(m, capacity, "capacity")
    solution = solve_assignment(expected, capacity=cap, min_clients=_by_name(m, min_clients, "min-clients"),
                                owners_per_client=owners_per_client, current=current, keep_bonus=keep_bonus,
                                keep_share=keep_share, locks=_name_pairs(m, locks, "lock"),
                                forbids=_name_pairs(m, forbids, "forbid"), max_share=max_share,
                                names=(m.salespeople, m.clients))
    capacity_arr = np.minimum(_per_person(cap, len(m.salespeople), "capacity", np.inf), len(m.clients))
    capacity_arr = np.where(np.isinf(_per_person(cap, len(m.salespeople), "capacity", np.inf)), np.inf, capacity_arr)
    return Assignment(m, expected, source, current, capacity_arr, solution)
