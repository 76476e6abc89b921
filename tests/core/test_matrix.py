"""The sales matrix itself (xlrec.core.matrix): numbers and labels. Reading one from cells, with A1 addresses
in its messages, is the spreadsheet layer's (tests/sheet/test_cells.py)."""

import re

import numpy as np
import pytest

from xlrec import InputError, NotFoundError, SalesMatrix

nan = np.nan


def test_lookups_are_trimmed_case_insensitive_and_suggest(article):
    assert article.salesperson_index("  alyssa ") == 0
    assert article.client_index("STAPLES") == 3
    with pytest.raises(NotFoundError, match=r"unknown client 'Staple': .* did you mean 'Staples'\?"):
        article.client_index("Staple")
    with pytest.raises(KeyError):
        article.salesperson_index("Nobody")


def test_values_are_read_only(article):
    with pytest.raises(ValueError):
        article.values[0, 0] = 1
    assert isinstance(article.values, np.ndarray)


def test_without_a_locator_messages_name_cells_by_labels_and_positions():
    with pytest.raises(InputError, match=r"^the sales matrix has 1 salesperson; at least 2 are needed"):
        SalesMatrix(["a"], ["X"], [[1.0]])
    with pytest.raises(InputError, match=r"^the sales matrix holds no booking at all"):
        SalesMatrix(["a", "b"], ["X"], [[nan], [nan]])
    with pytest.raises(InputError, match=r"^salesperson 'b', client 'Y': 1e\+200 is beyond the amounts"):
        SalesMatrix(["a", "b"], ["X", "Y"], [[1, 2], [3, 1e200]])
    with pytest.raises(InputError, match=r"^duplicate client name 'x' at positions 1 and 3 \(names are compared"):
        SalesMatrix(["a", "b"], ["X", "Y", "x"], [[1, 2, 3], [3, 4, 5]])
    m = SalesMatrix(["a", "b"], ["X", "Y"], [[1, 2], [3, 4]])
    assert m.where(0, 1) == "salesperson 'a', client 'Y'" and m.locate is None and m.transpose().locate is None


def test_a_locator_names_the_cells_and_follows_transpose_and_blanks():
    def locate(i, j):
        return f"<{i},{j}>"

    with pytest.raises(InputError, match=r"^<1,1>: 1e\+200 is beyond"):
        SalesMatrix(["a", "b"], ["X", "Y"], [[1, 2], [3, 1e200]], locate=locate)
    with pytest.raises(InputError, match=r"^duplicate salesperson name 'A' at <0,-1> and <1,-1> "):
        SalesMatrix(["a", "A"], ["X"], [[1], [2]], locate=locate)
    with pytest.raises(InputError, match=r"^the sales matrix at <-1,-1> has 1 salesperson"):
        SalesMatrix(["a"], ["X"], [[1]], locate=locate)
    m = SalesMatrix(["a", "b"], ["X", "Y", "Z"], [[1, 2, 3], [3, 4, 5]], locate=locate)
    assert m.where(1, 2) == "<1,2>" and m.transpose().where(2, 1) == "<1,2>"
    assert m.transpose().transpose().where(1, 2) == "<1,2>"
    assert m.with_blanks(np.eye(2, 3, dtype=bool)).locate is locate



@pytest.mark.parametrize("bad, message", [
    (1e200, "1e+200 is beyond the amounts"), (-np.inf, "-inf is beyond the amounts"),
    (3e-150, "3e-150 is beyond the amounts"), (-1e101, "-1e+101 is beyond the amounts")])
def test_the_checks_of_the_bookings_name_the_first_cell_beyond_range_on_both_paths(kernels, bad, message):
    # the compiled pass and numpy's steps: the first offending cell row by row (two are planted), the known
    # mask, zeros and minus zeros allowed, infinity beyond range, and a matrix of NaN and infinity only
    x = np.where(np.arange(12 * 9).reshape(12, 9) % 4 == 0, np.nan, 1.5)
    x[2, 3], x[2, 4], x[1, 1] = -0.0, 0.0, 1e-100
    x[7, 2], x[9, 0] = bad, 1e300
    with pytest.raises(InputError, match=rf"^salesperson 'r7', client 'c2': {re.escape(message)}"):
        SalesMatrix([f"r{i}" for i in range(12)], [f"c{j}" for j in range(9)], x)
    x[7, 2] = x[9, 0] = 2.0
    m = SalesMatrix([f"r{i}" for i in range(12)], [f"c{j}" for j in range(9)], x)
    np.testing.assert_array_equal(m.known, ~np.isnan(x))
    with pytest.raises(InputError, match=r"holds no booking at all"):
        SalesMatrix(["a", "b"], ["X", "Y"], [[nan, np.inf], [nan, nan]])
