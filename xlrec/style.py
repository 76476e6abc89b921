"""How xlrec marks the cells it predicted, the same in every front end (workbook files and live Excel).

Predicted cells get the fill colour :data:`PREDICTED_COLOR` (a light orange, Excel's "Orange, Accent 2,
Lighter 80%") and a note written by :data:`NOTE_AUTHOR` that lists the neighbours used. A cell with such a
note is a prediction, never a booking: filling again treats it as blank and predicts it anew.
"""

PREDICTED_COLOR = "#FCE4D6"
NOTE_AUTHOR = "xlrec"
NOTE_PREFIX = "xlrec prediction"
LEGEND_TEXT = "xlrec prediction (not an actual booking)"

__all__ = ["PREDICTED_COLOR", "NOTE_AUTHOR", "NOTE_PREFIX", "LEGEND_TEXT", "note_text"]


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
