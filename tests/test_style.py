"""The notes of predicted cells: the text built in bulk for a workbook is the text of each cell's explanation."""

import numpy as np
import pytest

from xlrec import NeighborModel
from xlrec.style import NOTE_PREFIX, note_text, note_texts


@pytest.mark.parametrize("by", ["salesperson", "client"])
@pytest.mark.parametrize("weighting", ["rank", "uniform", "distance"])
def test_bulk_notes_are_the_explanations(by, weighting):
    rng = np.random.default_rng(7)
    x = np.round(rng.lognormal(11, 1, (30, 12)), 2)
    x[rng.random(x.shape) < 0.6] = np.nan
    x[0, :3] = [0.0, -1234.5, 0.005]  # zero, negative, a half cent
    x[:, 11] = np.nan
    x[[3, 4], 11] = [100.0, 200.0]  # a client two salespeople booked: notes that say fewer than k were used
    result = NeighborModel(k=3, weighting=weighting, by=by, fallback="client_mean").fit(x).fill(explain=True)
    notes = note_texts(result)
    filled = result.predicted | result.fallback
    assert set(notes) == set(zip(*map(np.ndarray.tolist, filled.nonzero())))
    assert any("only" in t for t in notes.values())
    for (i, j), text in notes.items():
        assert text == note_text(result.explain(i, j)), (i, j)


def test_the_article_note(article):
    result = NeighborModel().fit(article).fill(explain=True)
    assert note_texts(result)[0, 3] == (
        f"{NOTE_PREFIX}: 433,333.33 (k=2, manhattan distance, rank weights, by salesperson)\n"
        "Mike: 500,000 (distance 0, weight 1 = 67%)\n"
        "Brandon: 300,000 (distance 200,000, weight 0.5 = 33%)")
