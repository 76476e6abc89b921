"""How xlrec marks the cells it predicted, the same in every front end (workbook files and live Excel).

Predicted cells get the fill colour :data:`PREDICTED_COLOR` (a light orange, Excel's "Orange, Accent 2,
Lighter 80%") and a note written by :data:`NOTE_AUTHOR` that lists the neighbours used. A cell that already
has a note of a person's keeps it: xlrec's text goes below it (:func:`with_note`) and comes out again
(:func:`without_note`). Which cells are predictions is not told by the marking (Excel keeps the colour and the
note when someone types over a cell) but by the record of what xlrec wrote (:mod:`xlrec.sheet.records`).
"""

import numpy as np

PREDICTED_COLOR = "#FCE4D6"
NOTE_AUTHOR = "xlrec"
NOTE_PREFIX = "xlrec prediction"
LEGEND_TEXT = "xlrec prediction (not an actual booking)"
#: above this many blanks in a matrix, predicted cells are marked by their colour and the record only, without
#: a note each (nobody reads millions of notes, and no spreadsheet program opens them quickly)
NOTE_LIMIT = 10_000

__all__ = ["PREDICTED_COLOR", "NOTE_AUTHOR", "NOTE_PREFIX", "LEGEND_TEXT", "NOTE_LIMIT", "note_text", "note_texts",
           "is_xlrec_note", "with_note", "without_note"]

_JOIN = "\n\n"


def is_xlrec_note(text) -> bool:
    """Whether a note's text is xlrec's alone."""
    return isinstance(text, str) and text.startswith(NOTE_PREFIX + ":")


def with_note(existing, text: str) -> str:
    """The note of a cell that had the note ``existing`` (None, xlrec's, or a person's) and gets xlrec's
    ``text``: a person's text is kept above xlrec's."""
    own = without_note(existing)
    return text if own is None else own + _JOIN + text


def without_note(existing):
    """A note with xlrec's text taken out: the person's text, or None when nothing is left.

    >>> without_note("call back in May" + _JOIN + NOTE_PREFIX + ": 1,200 (k=2)")
    'call back in May'
    >>> without_note(NOTE_PREFIX + ": 1,200 (k=2)") is None
    True
    """
    if existing is None or is_xlrec_note(existing):
        return None
    at = existing.find(_JOIN + NOTE_PREFIX + ":")
    own = existing if at < 0 else existing[:at]
    return own if own.strip() else None


def note_text(prediction) -> str:
    """The note of a predicted cell: the value and the neighbours that voted for it."""
    from .core.base import format_amount

    if prediction.fallback:
        return (f"{NOTE_PREFIX}: {format_amount(prediction.value)} = {prediction.fallback} "
                f"(no neighbour: {prediction.reason})")
    lines = [f"{NOTE_PREFIX}: {format_amount(prediction.value)} ({prediction.model})"]
    total = sum(n.weight for n in prediction.neighbors) or 1.0
    for n in prediction.neighbors:
        lines.append(f"{n.name}: {format_amount(n.value)} (distance {format_amount(n.distance)}, "
                     f"weight {n.weight:.4g} = {n.weight / total:.0%})")
    if prediction.note:
        lines.append(prediction.note)
    return "\n".join(lines)


def _amount(v: float) -> str:
    """:func:`~xlrec.core.base.format_amount` of a finite float, in one formatting step when it is 10 or more."""
    if -10 < v < 10:
        from .core.base import format_amount

        return format_amount(v)
    text = f"{v:,.2f}"
    return text[:-3] if text.endswith(".00") else text


def note_texts(result) -> dict:
    """{(i, j): note} for every filled cell of a :class:`~xlrec.core.base.FillResult` made with
    ``fill(explain=True)``: the text :func:`note_text` gives for ``result.prediction(i, j)``, built from the
    result's arrays (a fill of thousands of cells needs thousands of notes)."""
    m = result.matrix
    by_client = getattr(result.model, "by", "salesperson") == "client"
    names = m.clients if by_client else m.salespeople
    k = getattr(result.model, "k", 0)
    ii, jj = result.predicted.nonzero()
    idx, dist, weight = (a[ii, jj] for a in result.neighbors)  # (cells, k), nearest first, -1 past the last
    ok = idx >= 0
    safe = np.maximum(idx, 0)
    donor = m.values[ii[:, None], safe] if by_client else m.values[safe, jj[:, None]]
    used = ok.sum(axis=1)
    model = result.model.describe()
    texts = [f"{NOTE_PREFIX}: {_amount(v)} ({model})" for v in result.values[ii, jj].tolist()]
    totals = [sum(ws) or 1.0 for ws in np.where(ok, weight, 0.0).tolist()]
    # the same donor, and the same weight share, come back in many notes: each is formatted once
    donors, shares = {}, {}
    n_cols = m.values.shape[0 if by_client else 1]
    for slot in range(idx.shape[1]):
        rows = np.flatnonzero(ok[:, slot])
        t_, v_, d_, w_ = (a[rows, slot].tolist() for a in (idx, donor, dist, weight))
        key_ = (idx[rows, slot] * n_cols + (ii if by_client else jj)[rows]).tolist()
        for p, key, t, v, d, w in zip(rows.tolist(), key_, t_, v_, d_, w_):
            who = donors.get(key)
            if who is None:
                who = donors[key] = f"\n{names[t]}: {_amount(v)} (distance "
            total = totals[p]
            share = shares.get((w, total))
            if share is None:
                share = shares[w, total] = f", weight {w:.4g} = {w / total:.0%})"
            texts[p] += who + _amount(d) + share
    for p in np.flatnonzero(used < k).tolist():
        texts[p] += f"\nonly {used[p]} of the k={k} neighbours asked for could be used"
    out = dict(zip(zip(ii.tolist(), jj.tolist()), texts))
    for i, j in zip(*result.fallback.nonzero()):
        out[int(i), int(j)] = note_text(result.prediction(int(i), int(j)))
    return out
