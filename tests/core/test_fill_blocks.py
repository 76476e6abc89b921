"""The fill works in blocks of rows: the block size, and a progress callback, never change its results, and
an explained fill keeps 12 bytes per neighbour per cell (an int32 index and a float64 distance; the weights
are worked out from them when asked for, to the floats the vote used)."""

import tracemalloc

import numpy as np
import pytest

from xlrec import NeighborModel
from xlrec.core.models import neighbors
from xlrec.core.models.neighbors import WEIGHTINGS, LazyWeights


def _matrix(n=60, m=25, blank=0.6, levels=2, seed=11):
    # few distinct values: many distance ties and zero distances, which the "distance" weighting treats apart
    rng = np.random.default_rng(seed)
    x = rng.integers(1, levels + 1, (n, m)) * 1000.0
    x[rng.random(x.shape) < blank] = np.nan
    return x


def _same(a, b):
    return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)


@pytest.mark.parametrize("by, total", [("salesperson", 60), ("client", 25)])
def test_progress_counts_rows_to_the_total_and_changes_nothing(by, total, kernels, monkeypatch):
    x = _matrix()
    model = NeighborModel(k=3, metric="euclidean", by=by).fit(x)
    whole = model.fill(explain=True)  # one block: the matrix is small
    monkeypatch.setattr(neighbors, "_SLOT_ELEMENTS", 7 * 3 * x.shape[0 if by == "client" else 1])
    calls = []
    blocked = model.fill(explain=True, progress=lambda done, of: calls.append((done, of)))
    silent = model.fill(explain=True)
    assert len(calls) > 1
    assert {of for _, of in calls} == {total}
    dones = [done for done, _ in calls]
    assert dones == sorted(set(dones)) and dones[-1] == total
    # each block as many rows as fit in the slots (k per blank cell), a row alone when it does not fit
    limit = 7 * 3 * x.shape[0 if by == "client" else 1]
    blanks = np.isnan(x).sum(axis=0 if by == "client" else 1) * 3
    for lo, hi in zip([0, *dones[:-1]], dones):
        assert blanks[lo:hi].sum() <= limit or hi - lo == 1
        assert hi == total or blanks[lo:hi + 1].sum() > limit
    for other in (whole, silent):
        assert _same(blocked.values, other.values)
        assert _same(blocked.detail.used, other.detail.used)
        assert _same(blocked.predicted, other.predicted)
        for part in ("index", "distance", "weight"):
            assert _same(getattr(blocked.detail, part), getattr(other.detail, part))


@pytest.mark.parametrize("by", ["salesperson", "client"])
@pytest.mark.parametrize("weighting", list(WEIGHTINGS))
def test_explained_weights_are_the_votes(weighting, by, kernels):
    x = _matrix()
    model = NeighborModel(k=3, weighting=weighting, by=by).fit(x)
    r = model.fill(explain=True)
    idx, dist, weight = r.detail.index, r.detail.distance, r.detail.weight
    assert isinstance(weight, LazyWeights) and weight.shape == idx.shape == dist.shape
    ii, jj = np.nonzero(r.predicted)
    w = weight[ii, jj]
    assert _same(np.isnan(w), idx[ii, jj] < 0)
    # the weights give back the value the vote wrote
    donor = np.where(idx[ii, jj] >= 0, x[np.maximum(idx[ii, jj], 0), jj[:, None]] if by == "salesperson"
                     else x[ii[:, None], np.maximum(idx[ii, jj], 0)], 0.0)
    w0 = np.nan_to_num(w)
    np.testing.assert_allclose((w0 * donor).sum(axis=1) / w0.sum(axis=1), r.values[ii, jj], rtol=1e-12)
    if weighting == "distance":
        assert (dist[ii, jj] == 0).any() and (w0 == 0).any()  # the zero-distance rule was exercised
    # the same floats as one cell's own prediction (manhattan: the same distances on every path)
    for i, j in list(zip(ii, jj))[::5]:
        a = r.explain(i, j)
        b = model.predict(r.matrix.salespeople[i], r.matrix.clients[j])
        assert [(n.name, n.distance, n.weight) for n in a.neighbors] == \
            [(n.name, n.distance, n.weight) for n in b.neighbors]
    # every way of indexing agrees with the whole array
    full = np.asarray(weight)
    assert full.shape == idx.shape and _same(full[ii, jj], w)
    i, j = ii[0], jj[0]
    assert _same(weight[i, j], full[i, j]) and _same(weight[i], full[i]) and _same(weight[i, j, 0], full[i, j, 0])
    assert _same(weight[..., 1], full[..., 1]) and _same(weight[1:4, ::2], full[1:4, ::2])


@pytest.mark.parametrize("k", [1, 3, 5])
def test_an_explained_result_holds_twelve_bytes_per_neighbour(k):
    # what the result keeps, measured as the memory numpy has allocated while it is alive (tracemalloc
    # traces numpy's allocations); the compiled kernels allocate the same arrays in numpy, so either path
    x = _matrix(200, 150, blank=0.9, levels=1000)
    held = []
    for explain in (False, True):
        tracemalloc.start()
        try:  # a model of its own each time: the first fill caches things in the model the second would reuse
            r = NeighborModel(k=k).fit(x).fill(explain=explain)
            held.append(tracemalloc.get_traced_memory()[0])
        finally:
            tracemalloc.stop()
        del r
    per_neighbour = (held[1] - held[0]) / (x.size * k)
    assert 11.9 < per_neighbour < 12.1  # int32 index + float64 distance; weights kept too would be 20
