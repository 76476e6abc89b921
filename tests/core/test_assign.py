"""The assignment solver against brute force: every assignment of small random cases enumerated, the best by
the documented rule (the largest total, then the most owners kept, then the smallest sum of positions)."""

import itertools

import numpy as np
import pytest

from xlrec.core.assign import solve_assignment, today_owners
from xlrec.exceptions import InputError


def brute_force(E, *, capacity=None, min_clients=None, owners_per_client=1, current=None, keep_bonus=0.0,
                keep_share=0.0, locks=(), forbids=(), max_share=None):
    """(total, kept, sum of positions) of the best assignment by the tie rule, or None when none is feasible."""
    n, m = E.shape
    r = owners_per_client
    cur = np.zeros((n, m), bool) if current is None else current
    W = E + cur * (keep_bonus + keep_share * np.maximum(E, 0))
    U = np.full(n, np.inf) if capacity is None else np.broadcast_to(np.asarray(capacity, float), (n,))
    L = np.zeros(n) if min_clients is None else np.broadcast_to(np.asarray(min_clients, float), (n,))
    locks, forbids = set(map(tuple, locks)), set(map(tuple, forbids))
    choices = list(itertools.combinations(range(n), r))
    found = []
    for pick in itertools.product(choices, repeat=m):
        x = np.zeros((n, m), bool)
        for j, owners in enumerate(pick):
            x[list(owners), j] = True
        counts = x.sum(axis=1)
        if (counts > U).any() or (counts < L).any():
            continue
        if any(not x[i, j] for i, j in locks) or any(x[i, j] for i, j in forbids):
            continue
        if max_share is not None:
            totals = (E * x).sum(axis=1)
            if (totals > max_share * totals.sum() + 1e-9).any():
                continue
        found.append(((W * x).sum(), int((x & cur).sum()), int((x * np.arange(n)[:, None]).sum())))
    if not found:
        return None
    scale = max(np.abs(W).max(), 1e-300)
    best = max(f[0] for f in found)
    tied = [f for f in found if f[0] >= best - 1e-9 * scale]
    most = max(f[1] for f in tied)
    return best, most, min(f[2] for f in tied if f[1] == most)


def _case(seed, n=3, m=4, ties=False):
    rng = np.random.default_rng(seed)
    E = rng.integers(0, 3, (n, m)).astype(float) if ties else np.round(rng.uniform(0, 10, (n, m)), 2)
    current = np.zeros((n, m), bool)
    owners = rng.integers(-1, n, m)
    current[owners[owners >= 0], np.flatnonzero(owners >= 0)] = True
    return rng, E, current


def _check(E, solver=None, **kw):
    expected = brute_force(E, **kw)
    if expected is None:
        with pytest.raises(InputError):
            solve_assignment(E, solver=solver, **kw)
        return None
    s = solve_assignment(E, solver=solver, **kw)
    cur = kw.get("current")
    cur = np.zeros(E.shape, bool) if cur is None else cur
    assert s.objective == pytest.approx(expected[0], rel=1e-9, abs=1e-9)
    assert (s.objective, s.kept, int(s.rows.sum())) == (pytest.approx(expected[0], rel=1e-9, abs=1e-9),
                                                         expected[1], expected[2])
    assert s.kept == int(cur[s.rows, s.cols].sum())
    counts = np.bincount(s.cols, minlength=E.shape[1])
    assert (counts == kw.get("owners_per_client", 1)).all()
    return s


CAPACITIES = [None, 1, 2, 3, [1, 2, 1], [0, 3, 2]]
BONUSES = [(0.0, 0.0), (1.0, 0.0), (2.5, 0.0), (0.0, 0.5), (1.0, 0.25)]


@pytest.mark.parametrize("capacity", CAPACITIES)
@pytest.mark.parametrize("bonus", BONUSES)
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("solver", [None, "transportation LP"])
def test_the_optimum_is_brute_forces(capacity, bonus, ties, solver):
    for seed in range(4):
        _, E, current = _case(seed, ties=ties)
        s = _check(E, capacity=capacity, current=current, keep_bonus=bonus[0], keep_share=bonus[1], solver=solver)
        if s is not None and capacity is not None:
            assert s.solver == (solver or "shortest paths")


@pytest.mark.parametrize("seed", range(24))
def test_forbids_without_locks_against_brute_force(seed):
    # the shortest paths with forbidden pairs, feasible or not (a client forbidden everywhere it could go)
    rng, E, current = _case(300 + seed, n=3, m=4, ties=seed % 2 == 0)
    capacity = [int(c) for c in rng.integers(0, 3, 3)]
    forbids = sorted({(int(i), int(j)) for i, j in zip(rng.integers(0, 3, 4), rng.integers(0, 4, 4))})
    s = _check(E, capacity=capacity, forbids=forbids, current=current, keep_bonus=1.0)
    if s is not None:
        assert s.solver == "shortest paths"
        assert not set(forbids) & set(zip(s.rows.tolist(), s.cols.tolist()))


@pytest.mark.parametrize("seed", range(30))
def test_minimums_owners_locks_forbids_against_brute_force(seed):
    rng, E, current = _case(100 + seed, n=3, m=4, ties=seed % 2 == 0)
    kw = dict(current=current, keep_bonus=float(rng.choice([0, 1, 3])))
    kw["capacity"] = [int(c) for c in rng.integers(1, 4, 3)] if seed % 3 else None
    if seed % 4 == 1:
        kw["min_clients"] = [int(c) for c in rng.integers(0, 2, 3)]
    if seed % 5 == 2:
        kw["owners_per_client"] = 2
        kw["capacity"] = [int(c) for c in rng.integers(2, 5, 3)]
    pairs = [(int(i), int(j)) for i, j in zip(rng.integers(0, 3, 3), rng.integers(0, 4, 3))]
    kw["locks"], kw["forbids"] = pairs[:1], pairs[1:]
    if kw["locks"][0] in kw["forbids"]:
        kw["forbids"] = [p for p in kw["forbids"] if p != kw["locks"][0]]
    s = _check(E, **kw)
    if s is not None:
        owned = set(zip(s.rows.tolist(), s.cols.tolist()))
        assert set(kw["locks"]) <= owned
        assert not set(kw["forbids"]) & owned


@pytest.mark.parametrize("seed", range(12))
def test_max_share_against_brute_force(seed):
    rng, E, current = _case(200 + seed, n=3, m=4, ties=seed % 2 == 0)
    s = _check(E, max_share=float(rng.choice([0.4, 0.5, 0.7])), current=current, keep_bonus=1.0,
               capacity=None if seed % 3 else 2)
    assert s is None or s.solver == "MILP"


def test_the_three_solvers_agree_on_a_larger_case():
    rng = np.random.default_rng(7)
    E = rng.integers(0, 5, (6, 40)).astype(float)
    current = np.zeros(E.shape, bool)
    current[today_owners(E)[today_owners(E) >= 0], np.flatnonzero(today_owners(E) >= 0)] = True
    a = solve_assignment(E, current=current, keep_bonus=1.0)
    b = solve_assignment(E, current=current, keep_bonus=1.0, capacity=40)  # capacities that do not bind
    b2 = solve_assignment(E, current=current, keep_bonus=1.0, capacity=40, solver="transportation LP")
    c = solve_assignment(E, current=current, keep_bonus=1.0, max_share=1.0)
    assert (a.solver, b.solver, b2.solver, c.solver) == ("per client", "shortest paths", "transportation LP", "MILP")
    for s in (b, b2, c):
        assert (s.objective, s.kept, s.rows.sum()) == (pytest.approx(a.objective), a.kept, a.rows.sum())


def test_column_generation_reaches_pairs_outside_the_first_candidates():
    # every client's best 8 salespeople are the same 8 with capacity 1: the rest must come in by their prices
    rng = np.random.default_rng(3)
    n, m = 30, 20
    E = rng.uniform(0, 1, (n, m))
    E[:8] += 10
    s = solve_assignment(E, capacity=1, solver="transportation LP")
    assert s.rounds > 1
    from scipy.optimize import linear_sum_assignment
    r, c = linear_sum_assignment(E.T, maximize=True)
    assert s.objective == pytest.approx(E.T[r, c].sum())


def test_the_same_input_gives_the_same_assignment():
    rng = np.random.default_rng(11)
    E = rng.integers(0, 3, (20, 60)).astype(float)
    runs = [solve_assignment(E, capacity=4, keep_bonus=1.0, current=E > 1) for _ in range(3)]
    for s in runs[1:]:
        assert s.rows.tolist() == runs[0].rows.tolist() and s.cols.tolist() == runs[0].cols.tolist()


def test_ties_prefer_todays_owner_then_the_salesperson_higher_up():
    E = np.ones((3, 2))
    cur = np.zeros((3, 2), bool)
    cur[2, 0] = True
    s = solve_assignment(E, current=cur)
    assert s.rows.tolist() == [2, 0]
    s = solve_assignment(E, current=cur, capacity=[0, 2, 2])
    assert s.rows.tolist() == [2, 1]


@pytest.mark.parametrize("kw, message", [
    (dict(capacity=1), r"4 clients but the capacities add up to 3 \(short by 1\)"),
    (dict(capacity=[1, 1, 1], owners_per_client=2), r"4 clients x 2 owners = 8 places but the capacities add up to 3"),
    (dict(min_clients=2), r"the minimums add up to 6 clients but there are 4 clients \(over by 2\)"),
    (dict(owners_per_client=4), r"owners-per-client 4, but there are only 3 salespeople"),
    (dict(capacity=[1, 5, 5], min_clients=[2, 0, 0]), r"salesperson 'R1': at least 2 clients but at most 1"),
    (dict(locks=[(0, 1)], forbids=[(0, 1)]), r"'R1' / 'C2' is both locked and forbidden"),
    (dict(locks=[(0, 1), (1, 1)]), r"client 'C2': 2 locked owners but 1 owner per client"),
    (dict(locks=[(0, 1), (0, 2)], capacity=1, min_clients=None),
     r"(4 clients but the capacities|salesperson 'R1': 2 locked clients but a capacity of 1)"),
    (dict(forbids=[(0, 3), (1, 3), (2, 3)]), r"client 'C4': 3 of the 3 salespeople are forbidden, leaving 0"),
    (dict(max_share=0.2), r"max-share 0.2 with 3 salespeople: .* at least 0.3333"),
    (dict(capacity=[2, 2, 0], forbids=[(0, 0), (1, 0)]), r"only 3 of the 4 client places can be filled"),
])
def test_infeasible_constraints_say_which_and_by_how_much(kw, message):
    E = np.arange(12, dtype=float).reshape(3, 4)
    with pytest.raises(InputError, match=message):
        solve_assignment(E, **kw)


def _expanded_optimum(C, cap):
    """The least total cost by scipy's linear_sum_assignment on the capacity-expanded matrix (a test oracle)."""
    from scipy.optimize import linear_sum_assignment

    big = np.repeat(np.where(np.isinf(C), 1e6, C), cap, axis=0).T  # clients x places
    r, c = linear_sum_assignment(big)
    return big[r, c].sum()


@pytest.mark.parametrize("seed", range(40))
def test_the_transport_kernels_are_exact_and_agree(seed):
    from xlrec.core import _accel
    from xlrec.core.assign import _transport_numpy

    rng = np.random.default_rng(500 + seed)
    n, m = (int(rng.integers(1, 7)), int(rng.integers(1, 16))) if seed < 30 else (25, 160)  # long paths too
    C = rng.integers(-4, 1, (n, m)).astype(float) if seed % 2 else -rng.uniform(0, 1, (n, m))
    if seed % 3 == 0:
        C[rng.random((n, m)) < 0.2] = np.inf  # forbidden
    cap = rng.integers(0, 5 if seed < 30 else 9, n).astype(np.int64)
    cap[0] += max(0, m - cap.sum())
    kernels = [_transport_numpy] + ([_accel.transport] if _accel.available() else [])
    results = [k(np.ascontiguousarray(C.T), cap) for k in kernels]
    feasible = _expanded_optimum(C, cap) < 1e5
    for owner, pi_row, pi_col, pi_t in results:
        if not feasible:
            assert owner[0] == -1
            continue
        assert (owner >= 0).all() and (np.bincount(owner, minlength=n) <= cap).all()
        total = C[owner, np.arange(m)].sum()
        assert total == pytest.approx(_expanded_optimum(C, cap), abs=1e-9)
        u, v = pi_t - pi_col, np.minimum(pi_row - pi_t, 0.0)  # dual feasible, and tight on the owned pairs
        assert (C - u[None, :] - v[:, None] >= -1e-9).all()
        assert np.abs(C[owner, np.arange(m)] - u - v[owner]).max() <= 1e-9
        assert (v[np.bincount(owner, minlength=n) < cap] == 0).all()
    for other in results[1:]:  # the compiled twin takes the same steps
        assert np.array_equal(other[0], results[0][0])
        if feasible:
            np.testing.assert_allclose(other[1], results[0][1], rtol=0, atol=1e-12)
