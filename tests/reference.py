"""A plain, loop-by-loop implementation of the neighbour model, written from the definitions only.

It is slow on purpose: every fast path of xlrec is checked against it.
"""

import math


def distance(a, b, metric):
    """(distance, shared count) between two rows given as lists with None or NaN for blanks."""
    diffs = [x - y for x, y in zip(a, b) if not _blank(x) and not _blank(y)]
    if not diffs:
        return math.inf, 0
    if metric == "manhattan":
        d = sum(abs(v) for v in diffs)
    elif metric == "euclidean":
        d = math.sqrt(sum(v * v for v in diffs))
    elif metric == "supremum":
        d = max(abs(v) for v in diffs)
    elif metric == "nan_euclidean":
        d = math.sqrt(len(a) / len(diffs) * sum(v * v for v in diffs))
    else:
        raise ValueError(metric)
    return d, len(diffs)


def _blank(v):
    return v is None or (isinstance(v, float) and math.isnan(v))


def predict(rows, i, c, k, metric, weighting, min_shared=1):
    """Prediction for blank (i, c), or None; ties in distance go to the lower row index."""
    cands = []
    for j, row in enumerate(rows):
        if j == i or _blank(row[c]):
            continue
        d, s = distance(rows[i], row, metric)
        if s >= min_shared:
            cands.append((d, j))
    cands.sort()
    chosen = cands[:k]
    if not chosen:
        return None
    if weighting == "uniform":
        w = [1.0] * len(chosen)
    elif weighting == "rank":
        w = [1.0 / (r + 1) for r in range(len(chosen))]
    elif weighting == "distance":
        if any(d == 0 for d, _ in chosen):
            w = [1.0 if d == 0 else 0.0 for d, _ in chosen]
        else:
            w = [1.0 / d for d, _ in chosen]
    return sum(wi * rows[j][c] for wi, (_, j) in zip(w, chosen)) / sum(w)


def fill(rows, k, metric, weighting, by="salesperson", min_shared=1):
    if by == "client":
        cols = [list(col) for col in zip(*rows)]
        return [list(r) for r in zip(*fill(cols, k, metric, weighting, min_shared=min_shared))]
    out = []
    for i, row in enumerate(rows):
        out.append([v if not _blank(v) else predict(rows, i, c, k, metric, weighting, min_shared)
                    for c, v in enumerate(row)])
    return out
