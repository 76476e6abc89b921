"""Reading cells as a spreadsheet holds them (xlrec.sheet.cells): bookings typed as text, blanks, and a sales
matrix read from a block of cells with bad cells named by their A1 addresses."""

import math
import pickle
import re

import pytest
from conftest import article_cells
from hypothesis import given
from hypothesis import strategies as st

from xlrec import InputError, NotFoundError
from xlrec.sheet.cells import cell_address, matrix_from_cells, parse_booking
from xlrec.sheet.errors import ERROR_CODES


@pytest.mark.parametrize("text, expected", [
    ("500000", 500000.0), ("500,000", 500000.0), ("$500,000", 500000.0), (" 1,200.50 ", 1200.5),
    ("-1,200", -1200.0), ("(1,200)", -1200.0), ("$ -3.5", -3.5), (".5", 0.5), ("0", 0.0), ("€12", 12.0),
])
def test_numeric_text_is_read_as_a_number(text, expected):
    assert parse_booking(text) == expected


@pytest.mark.parametrize("blank", [None, "", "   ", "\t"])
def test_empty_and_space_cells_are_blank(blank):
    assert math.isnan(parse_booking(blank))


def test_zero_is_a_booking_not_a_blank():
    m = matrix_from_cells([[None, "A", "B"], ["x", 0, None], ["y", "0", " "]])
    assert m.values[0, 0] == 0 and m.values[1, 0] == 0
    assert math.isnan(m.values[0, 1]) and math.isnan(m.values[1, 1])
    assert m.known.tolist() == [[True, False], [True, False]]


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=99))
def test_thousands_separated_text_round_trips(units, cents):
    text = f"${units:,}.{cents:02d}"
    assert parse_booking(text) == pytest.approx(units + cents / 100, rel=1e-15)


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz#!?/ ", min_size=1).filter(lambda t: t.strip()))
def test_other_text_is_an_error_naming_the_cell(text):
    with pytest.raises(InputError, match=r"^Sheet1!C4: .* is not a number"):
        parse_booking(text, "Sheet1!C4")


@pytest.mark.parametrize("value, message", [
    ("n/a", r"Sales!C3: 'n/a' is not a number \(bookings must be numbers; leave the cell blank if unknown\)"),
    (True, r"Sales!C3: True is a true/false value"),
    ("#N/A", r"Sales!C3: holds the Excel error #N/A"),
    ("#VALUE!", r"Sales!C3: holds the Excel error #VALUE!"),
    ("12 apples", r"Sales!C3: '12 apples' is not a number"),
    ("1,00", r"Sales!C3: '1,00' is not a number"),
])
def test_bad_value_cells_name_the_cell_and_content(value, message):
    cells = article_cells()
    cells[2][2] = value  # row 3, column C of a block starting at A1
    with pytest.raises(InputError, match=message):
        matrix_from_cells(cells, sheet="Sales")


def test_cell_addresses_follow_the_origin():
    cells = article_cells()
    cells[1][4] = "oops"
    with pytest.raises(InputError, match=r"^'My Sheet'!F4: 'oops'"):
        matrix_from_cells(cells, sheet="My Sheet", origin=(3, 2))
    assert cell_address(1, 28) == "AB1"


def test_duplicate_salesperson_names_both_places():
    cells = article_cells()
    cells[4][0] = " mike "
    with pytest.raises(InputError, match=r"duplicate salesperson name 'mike' at Sales!A4 and Sales!A5"):
        matrix_from_cells(cells, sheet="Sales")


def test_duplicate_client_names_both_places():
    cells = article_cells()
    cells[0][4] = "GOOGLE"
    with pytest.raises(InputError, match=r"duplicate client name 'GOOGLE' at B1 and E1"):
        matrix_from_cells(cells)


def test_empty_names_are_errors():
    cells = article_cells()
    cells[0][2] = "  "
    with pytest.raises(InputError, match=r"^C1: the client name is empty"):
        matrix_from_cells(cells)
    cells = article_cells()
    cells[3][0] = None
    with pytest.raises(InputError, match=r"^A4: the salesperson name is empty"):
        matrix_from_cells(cells)


def test_too_few_salespeople():
    with pytest.raises(InputError, match="^the sales matrix at A1 has 1 salesperson; at least 2 are needed"):
        matrix_from_cells([[None, "Google"], ["Alyssa", 1]])
    with pytest.raises(InputError, match="^the sales matrix at Sales!B3 has 1 salesperson"):
        matrix_from_cells([[None, "Google"], ["Alyssa", 1]], sheet="Sales", origin=(3, 2))


def test_no_known_value():
    with pytest.raises(InputError, match="^the sales matrix at A1 holds no booking at all"):
        matrix_from_cells([[None, "Google", "Staples"], ["Alyssa", None, " "], ["Mike", None, None]])
    m = matrix_from_cells([[None, "Google"], ["Alyssa", 1], ["Mike", None]], sheet="Sales")
    with pytest.raises(InputError, match="^the sales matrix at Sales!A1 holds no booking at all"):
        m.with_blanks(m.known)  # the matrix's own checks still name its cells


def test_amounts_out_of_range_are_named_by_their_cell():
    cells = article_cells()
    cells[2][3] = 1e200
    with pytest.raises(InputError, match=r"^'My Sheet'!E4: 1e\+200 is beyond the amounts xlrec computes with"):
        matrix_from_cells(cells, sheet="My Sheet", origin=(2, 2))


@pytest.mark.parametrize("code", sorted(ERROR_CODES))
def test_every_error_code_is_an_error_not_a_booking(code):
    for text in (code, code.lower(), f" {code} "):
        with pytest.raises(InputError, match=f"^C3: holds the Excel error {re.escape(text.strip())} "):
            parse_booking(text, "C3")


def test_too_small_block():
    with pytest.raises(InputError, match="is 1 x 3 cells"):
        matrix_from_cells([[None, "A", "B"]])


def test_numeric_labels_read_as_text():
    m = matrix_from_cells([[None, 17850.0, "B"], [12, 1, 2], ["y", 3, 4]])
    assert m.clients == ("17850", "B") and m.salespeople == ("12", "y")


def test_a_block_of_numbers_reads_at_once_with_the_same_checks():
    m = matrix_from_cells([[None, "A", "B"], ["x", 1, 2.5], ["y", None, 0]])
    assert m.values[0].tolist() == [1.0, 2.5] and math.isnan(m.values[1, 0]) and m.values[1, 1] == 0.0
    for bad, message in [(float("inf"), "B3: inf is not a finite number"), (10 ** 400, "B3: inf is not a finite"),
                         (True, "B3: True is a true/false value")]:
        with pytest.raises(InputError, match=message):
            matrix_from_cells([[None, "A", "B"], ["x", 1, 2.5], ["y", bad, 0]])


def test_cells_after_left_out_rows_and_columns_are_named_by_their_sheet_address():
    # rows 1 and 2 are sheet rows 2 and 4 (row 3 left out); columns are sheet columns B and D
    cells = [["Q1", "A", "B"], ["x", 1, 2], ["y", 3, "lots"]]
    with pytest.raises(InputError, match=r"^Sales!D4: 'lots' is not a number"):
        matrix_from_cells(cells, sheet="Sales", positions=([2, 4], [2, 4]))
    m = matrix_from_cells(cells[:2] + [["y", 3, 4]], sheet="Sales", positions=([2, 4], [2, 4]))
    assert m.where(1, 1) == "Sales!D4" and m.transpose().where(1, 1) == "Sales!D4"
    assert m.where(-1, 1) == "Sales!D1" and m.transpose().where(1, -1) == "Sales!D1"
    with pytest.raises(InputError, match=r"duplicate salesperson name 'x' at Sales!A2 and Sales!A4"):
        matrix_from_cells(cells[:2] + [["x", 3, 4]], sheet="Sales", positions=([2, 4], [2, 4]))


def test_a_date_among_bookings_is_shown_as_a_date():
    import datetime

    with pytest.raises(InputError, match=r"^Sales!C3: holds the date or time 2024-03-15, not a booking \(.*--range"):
        parse_booking(datetime.datetime(2024, 3, 15), "Sales!C3")
    with pytest.raises(InputError, match=r"^C3: holds the date or time 2024-03-15 09:30, not a booking"):
        parse_booking(datetime.datetime(2024, 3, 15, 9, 30), "C3")


def test_long_text_is_cut_in_messages():
    text = "a" * 39 + "bcdefgh"
    with pytest.raises(InputError) as info:
        parse_booking(text, "C3")
    assert str(info.value).startswith("C3: '" + "a" * 39 + "…' is not a number")
    m = matrix_from_cells([[None, "A"], ["x" * 60, 1], ["y", 2]])
    with pytest.raises(NotFoundError, match="^unknown salesperson '" + "z" * 39 + "…'"):
        m.salesperson_index("z" * 60)


def test_a_matrix_read_from_cells_pickles_with_its_locator():
    m = matrix_from_cells([[None, "X", "Y"], ["a", 1, 2], ["b", 3, None]], sheet="Sales").transpose()
    again = pickle.loads(pickle.dumps(m))
    assert again.where(1, 1) == m.where(1, 1) == "Sales!C3"
    assert again.values.tolist()[0] == [1.0, 3.0]
