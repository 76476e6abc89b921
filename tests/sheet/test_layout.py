"""Finding the matrix in a grid of cells (xlrec.sheet.layout): blocks joined across empty rows and columns."""

import pytest

from xlrec.sheet.layout import bridged_block, nonempty, trim_block


def find(cells):
    return bridged_block(nonempty(cells), lambda r, c: cells[r][c] if c < len(cells[r]) else None)


_ = None


def test_an_empty_row_joins_a_smaller_block_above_to_a_larger_below():
    # the header block alone (rows 0-1) is smaller than the one below the gap (rows 3-6): both are the matrix
    cells = [["Q1", "A", "B"],
             ["x", 1, 2],
             [_, _, _],
             ["y", 3, _],
             ["z", _, 4],
             ["w", 5, 6],
             ["v", 7, 8]]
    assert find(cells) == ((0, 0, 7, 3), [2], [])


def test_an_empty_column_joins_beside_the_header_under_a_title():
    cells = [["Bookings 2024", _, _, _, _],
             [_, "A", "B", _, "C"],
             ["x", 1, 2, _, 5],
             ["y", 3, _, _, _]]
    # the title row is trimmed; the block right of column 3 starts on the header row
    assert find(cells) == ((1, 0, 4, 5), [], [3])


@pytest.mark.parametrize("below, why", [
    (["Q2", "A", "B"], "a second header"),
    ([_, 5, 6], "no salesperson name"),
    (["y", 1, 2, 3], "wider than the matrix"),
    (["Total", "=SUM(B2:B3)", "=SUM(C2:C3)"], "a row of formulas"),
])
def test_what_is_not_a_continuation_below(below, why):
    cells = [[_, "A", "B"], ["x", 1, 2], ["w", 3, 4], [_, _, _], below, ["z", 5, 6]]
    assert find(cells) == ((0, 0, 3, 3), [], []), why


def test_a_legend_beside_is_not_a_continuation():
    cells = [[_, "A", "B", _, "Predicted by xlrec"],
             ["x", 1, 2, _, "k=2, manhattan distance"],
             ["y", 3, _]]
    assert find(cells) == ((0, 0, 3, 3), [], [])


def test_two_empty_rows_part_two_blocks():
    cells = [[_, "A", "B"], ["x", 1, 2], ["w", 3, 4], [_, _, _], [_, _, _], ["y", 5, 6]]
    assert find(cells) == ((0, 0, 3, 3), [], [])


def test_a_gap_before_a_trimmed_totals_row_is_not_kept():
    cells = [[_, "A", "B"], ["x", 1, 2], ["w", 3, 4], [_, _, _], ["Total", 4, 6]]
    assert find(cells) == ((0, 0, 3, 3), [], [])


def test_sum_formulas_at_the_end_are_totals_whatever_their_label():
    cells = [[_, "A", "B", "All"],
             ["x", 1, 2, "=SUM(B2:C2)"],
             ["y", 3, _, "=sum(B3:C3)"],
             ["All", "=SUBTOTAL(9,B2:B3)", "=SUM(C2:C3)", _]]
    assert trim_block(lambda r, c: cells[r][c], (0, 0, 4, 4)) == (0, 0, 3, 3)
    cells[1][3] = "=B2*2"  # not a total
    assert trim_block(lambda r, c: cells[r][c], (0, 0, 4, 4)) == (0, 0, 3, 4)
