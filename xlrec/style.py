"""How xlrec marks the cells it predicted, the same in every front end (workbook files and live Excel).

Predicted cells get the fill colour :data:`PREDICTED_COLOR` (a light orange, Excel's "Orange, Accent 2,
Lighter 80%") and a note written by :data:`NOTE_AUTHOR` that lists the neighbours used. A cell that already
has a note of a person's keeps it: xlrec's text goes below it (:func:`with_note`) and comes out again
(:func:`without_note`). Which cells are predictions is not told by the marking (Excel keeps the colour and the
note when someone types over a cell) but by the record of what xlrec wrote (:mod:`xlrec.sheet.records`).
"""

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


def note_text(explanation) -> str:
    """The note of a predicted cell: xlrec's prefix, then the explanation's note (the value and where it comes
    from: the neighbours that voted, a baseline's terms)."""
    return f"{NOTE_PREFIX}: {explanation.note()}"


def note_texts(result) -> dict:
    """{(i, j): note} for every filled cell of a :class:`~xlrec.core.models.base.FillResult`: the text
    :func:`note_text` gives for ``result.explain(i, j)``, built in bulk by models that can (a fill of thousands
    of cells needs thousands of notes)."""
    head = NOTE_PREFIX + ": "
    return {cell: head + text for cell, text in result.notes().items()}
