"""``xlrec convert``: replace xlrec formulas by their values, so the workbook opens anywhere without the add-in.

Every cell whose formula calls an xlrec function (also nested, e.g. ``=ROUND(PREDICT_BOOKING(...),-3)``) gets
its computed value; the arguments may be references (absolute or relative, to other sheets, to defined names
and tables) to cells that hold values or formulas themselves. Table functions (``EXPLAIN_BOOKING``...) fill
their array-formula range, or spill from the cell like Excel's dynamic arrays (``#SPILL!`` when the cells are
taken). Other formulas stay formulas unless ``values_only``. A formula that cannot be evaluated stays as it
is and is reported with its address; a referenced formula that cannot be evaluated is read from the value
Excel saved with the workbook, when there is one, and reported too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from openpyxl.cell.rich_text import CellRichText
from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.worksheet.formula import ArrayFormula

from .. import functions
from ..core.models import Model, make_model
from ..core.tune import choose_model
from ..exceptions import NotFoundError, XlrecError
from ..sheet.cache import Fitted, _table
from ..sheet.cells import cell_address, matrix_from_cells
from ..sheet.errors import ERROR_CODES
from .cells import put, put_error
from .formulas import Evaluator, Unsupported, XlError, function_names, parse
from .workbook import check_output, load_workbook, save_atomic

__all__ = ["convert_workbook", "ConvertReport"]

XLREC_FUNCTIONS = frozenset(functions.FUNCTIONS)
_EXCEL_LIMITS = (1_048_576, 16_384)


@dataclass
class ConvertReport:
    output: Path
    converted: int = 0  # cells whose formula was replaced by its value
    spilled: int = 0  # further cells written by table functions
    errors: list = field(default_factory=list)  # (address, error value, reason): converted cells showing an error
    unevaluable: list = field(default_factory=list)  # (address, formula, reason): left as formulas
    saved_values: list = field(default_factory=list)  # (address, reason): Excel's saved value was used
    dropped: list = ()
    remarks: list = field(default_factory=list)  # what a model file folded in

    def summary(self) -> str:
        text = f"{self.output}: converted {self.converted:,} formula cells to values"
        if self.spilled:
            text += f" (and {self.spilled:,} cells of spilled tables)"
        for remark in self.remarks:
            text += f"; {remark}"
        if self.errors:
            address, code, reason = self.errors[0]
            more = f" and {len(self.errors) - 1} more" if len(self.errors) > 1 else ""
            text += f"; {len(self.errors)} show an error value ({address}: {code}: {reason}{more})"
        if self.unevaluable:
            text += f"; {len(self.unevaluable)} left as formulas (could not be evaluated, listed above)"
        if self.dropped:
            text += f"; dropped as asked (--force): {', '.join(self.dropped)}"
        return text

    def problems(self) -> list[str]:
        """One line per formula left as it was, per cell now showing an error value, and per saved value
        used in place of a formula."""
        lines = [f"{a}: {f} was left as a formula: {why}" for a, f, why in self.unevaluable]
        lines += [f"{a}: shows {code}: {why}" for a, code, why in self.errors]
        lines += [f"{a}: {why}" for a, why in self.saved_values]
        return lines


def _formula_of(cell):
    """The formula of an openpyxl cell, or None. A text cell whose text begins with "=" (typed as '=1+1) is
    text, not a formula: only a cell openpyxl read as a formula (data type "f") is one."""
    if cell is None:
        return None
    value = cell.value
    if isinstance(value, ArrayFormula):
        return value.text
    if cell.data_type == "f" and isinstance(value, str) and value.startswith("=") and len(value) > 1:
        return value
    return None


def _references(tree):
    """The reference texts of a formula tree (``Sales!A1:E7``, ``SalesMatrix``...), walked without recursion."""
    refs, stack = [], [tree]
    while stack:
        node = stack.pop()
        kind = node[0]
        if kind == "ref":
            refs.append(node[1])
        elif kind in ("neg", "plus", "pct"):
            stack.append(node[1])
        elif kind == "op":
            stack.extend((node[3], node[2]))
        elif kind == "call":
            stack.extend(reversed(node[2]))
    return refs


class _Cycle(Exception):
    pass


class _Book:
    """Cell values of a workbook, formulas evaluated on demand (each once) and cached."""

    def __init__(self, wb, path, model_file=None):
        self.wb, self.path = wb, path
        self.model_file = model_file  # a fitted model applied to every matrix (--model-file), or None
        self.values = {}  # (sheet, row, col) -> value
        self.trees = {}  # (sheet, row, col) -> parsed formula
        self.active = set()  # the formula cells being evaluated
        self.failed = {}  # (sheet, row, col) -> why its formula cannot be evaluated (Unsupported or _Cycle)
        self.formula_cells = {}  # sheet -> [(row, col)] of its formula cells
        self.ranges = {}  # (sheet, bounds) -> the formula cells in that range
        self.extents = {}  # sheet -> (max_row, max_column), before any cell is written
        self.grids = {}  # (sheet, bounds) -> table (kept alive: the fit cache is keyed by its id)
        self.origins = {}  # id(table) -> (sheet, row, col) of its top-left cell
        self.fits = {}
        self.saved = None  # the workbook's saved values, loaded if ever needed
        self.report = None
        self.evaluator = Evaluator(self.resolve, {name: self._xlrec(name) for name in XLREC_FUNCTIONS})

    # --- references
    def _sheet_and_ref(self, text, sheet):
        if "!" in text:
            name, ref = text.rsplit("!", 1)
            if name.startswith("'") and name.endswith("'"):
                name = name[1:-1].replace("''", "'")
            if name.startswith("["):
                raise Unsupported(f"{text} refers to another workbook")
            if name not in self.wb.sheetnames:
                return None, XlError("#REF!", f"no sheet named {name!r}")
            return name, ref
        return sheet, text

    def locate(self, text, sheet):
        """Where a reference points: (sheet, (min_col, min_row, max_col, max_row)), whole rows and columns cut
        at the sheet's last used cell; or an :class:`XlError`."""
        name, ref = self._sheet_and_ref(text, sheet)
        if name is None:
            return ref
        ref = ref.replace("$", "")
        try:
            bounds = range_boundaries(ref)
        except (ValueError, TypeError):
            return self._named(ref, name)
        return name, self._clip(name, bounds)

    def resolve(self, text, sheet):
        located = self.locate(text, sheet)
        return located if isinstance(located, XlError) else self.read(*located)

    def _named(self, ref, sheet):
        ws = self.wb[sheet]
        table_name, _, part = ref.partition("[")
        part = part.rstrip("]").strip().lower()
        for other in self.wb.worksheets:
            for table in other.tables.values():
                if table.displayName.lower() == table_name.lower():
                    c0, r0, c1, r1 = range_boundaries(table.ref)
                    headers = table.headerRowCount if table.headerRowCount is not None else 1
                    totals = table.totalsRowCount or 0
                    if part in ("#all",):
                        return other.title, (c0, r0, c1, r1)
                    if part in ("", "#data"):
                        return other.title, (c0, r0 + headers, c1, r1 - totals)
                    if part == "#headers" and headers:
                        return other.title, (c0, r0, c1, r0)
                    raise Unsupported(f"the structured reference {ref} is not supported; use {table_name}[#All]")
        for names in (ws.defined_names, self.wb.defined_names):
            defined = names.get(ref) or next((d for n, d in names.items() if n.lower() == ref.lower()), None)
            if defined is not None:
                destinations = list(defined.destinations)
                if len(destinations) != 1:
                    raise Unsupported(f"the name {ref} is not a single range ({defined.attr_text})")
                target, cells = destinations[0]
                if target not in self.wb.sheetnames:
                    return XlError("#REF!", f"the name {ref} refers to a missing sheet")
                return target, self._clip(target, range_boundaries(cells.replace("$", "")))
        return XlError("#NAME?", f"no range, table or name called {ref!r}")

    def _extent(self, sheet):
        """(last row, last column) of a sheet, found once: openpyxl's max_row scans every cell each time."""
        extent = self.extents.get(sheet)
        if extent is None:
            ws = self.wb[sheet]
            extent = self.extents[sheet] = (ws.max_row, ws.max_column)
        return extent

    def _clip(self, sheet, bounds):
        """Whole rows or columns (``A:A``) up to the last used cell; larger ranges cut there too."""
        c0, r0, c1, r1 = bounds
        if (c0, r0) == (c1, r1) and c0 is not None and r0 is not None:  # one cell
            return bounds
        max_row, max_col = self._extent(sheet)
        if c0 is None or r0 is None:
            c0, r0 = c0 or 1, r0 or 1
            c1, r1 = c1 or max_col, r1 or max_row
        return c0, r0, min(c1, max(max_col, c0)), min(r1, max(max_row, r0))

    def read(self, sheet, bounds):
        c0, r0, c1, r1 = bounds
        if (c0, r0) == (c1, r1):
            return self.value(sheet, r0, c0)
        key = (sheet, (c0, r0, c1, r1))
        grid = self.grids.get(key)
        if grid is None:
            grid = [[self.value(sheet, r, c) for c in range(c0, c1 + 1)] for r in range(r0, r1 + 1)]
            self.grids[key] = grid
            self.origins[id(grid)] = (sheet, r0, c0)
        return grid

    # --- the order of evaluation
    def _formula_cells(self, sheet, bounds):
        """The formula cells of ``sheet`` within ``bounds``, as (sheet, row, col) keys."""
        c0, r0, c1, r1 = bounds
        ws = self.wb[sheet]
        if (c0, r0) == (c1, r1):
            return [(sheet, r0, c0)] if _formula_of(ws._cells.get((r0, c0))) is not None else []
        key = (sheet, bounds)
        found = self.ranges.get(key)
        if found is None:
            cells = self.formula_cells.get(sheet)
            if cells is None:
                cells = self.formula_cells[sheet] = [rc for rc, cell in ws._cells.items()
                                                     if _formula_of(cell) is not None]
            found = self.ranges[key] = [(sheet, r, c) for r, c in cells if r0 <= r <= r1 and c0 <= c <= c1]
        return found

    def _precedents(self, key):
        """The formula cells the formula of ``key`` refers to (none when it cannot be read: evaluating it
        will say why)."""
        sheet, row, col = key
        try:
            tree = self._tree(key, _formula_of(self.wb[sheet]._cells.get((row, col))))
            out = []
            for text in _references(tree):
                located = self.locate(text, sheet)
                if not isinstance(located, XlError):
                    out.extend(self._formula_cells(*located))
            return out
        except (Unsupported, ValueError, TypeError):
            return []

    def _done(self, key):
        return key in self.values or key in self.failed

    def prepare(self, sheet, row, col):
        """Evaluate every formula cell that the formula at (sheet, row, col) depends on, directly or through
        others, each after the cells it depends on: a depth-first walk with an explicit stack, so that a chain
        of thousands of formulas needs no deep recursion. A cell on a circular reference fails with the address
        that closes the circle; so do the cells that depend on it."""
        start = (sheet, row, col)
        stack = [(start, iter(self._precedents(start)))]
        on_stack = {start}
        while stack:
            key, precedents = stack[-1]
            for dep in precedents:
                if self._done(dep):
                    continue
                if dep in on_stack:  # a circle: dep ... key -> dep
                    closing = _Cycle(cell_address(dep[1], dep[2], dep[0]))
                    for other, _ in stack[[k for k, _ in stack].index(dep):]:
                        self.failed.setdefault(other, closing)
                    continue
                on_stack.add(dep)
                stack.append((dep, iter(self._precedents(dep))))
                break
            else:
                stack.pop()
                on_stack.discard(key)
                if key != start and not self._done(key):
                    try:
                        self.value(*key, prepared=True)
                    except (_Cycle, Unsupported):
                        pass  # kept in self.failed

    # --- cells
    def value(self, sheet, row, col, prepared=False):
        """The value of a cell, its formula evaluated (after the cells it depends on, unless ``prepared``)."""
        key = (sheet, row, col)
        if key in self.values:
            return self.values[key]
        if key in self.failed:
            raise self.failed[key].with_traceback(None)
        ws = self.wb[sheet]
        cell = ws._cells.get((row, col))  # no new empty cells in the output
        formula = _formula_of(cell)
        if formula is None:
            raw = cell.value if cell is not None else None
            value = raw
            if isinstance(raw, str) and raw in ERROR_CODES and cell.data_type == "e":
                value = XlError(raw)
        else:
            if key in self.active:
                raise _Cycle(cell_address(row, col, sheet))
            if not (self.active or prepared):  # not inside another cell's evaluation: its precedents first
                self.prepare(sheet, row, col)
                if key in self.failed:
                    raise self.failed[key].with_traceback(None)
            self.active.add(key)
            try:
                value = self.evaluate_cell(sheet, row, col, formula)
            except Unsupported as exc:
                try:
                    value = self._saved_value(sheet, row, col, exc)
                except Unsupported as failure:
                    self.failed[key] = failure
                    raise
            except _Cycle as exc:
                self.failed[key] = exc
                raise
            finally:
                self.active.discard(key)
            if isinstance(value, CellRichText):  # rich text (a list of runs) reads as its text
                value = str(value)
            elif isinstance(value, list):  # a referenced cell shows the top-left value of an array
                value = value[0][0] if value and value[0] else None
        self.values[key] = value
        return value

    def _tree(self, key, formula):
        tree = self.trees.get(key)
        if tree is None:
            try:
                tree = self.trees[key] = parse(formula)
            except RecursionError:
                raise Unsupported("the formula is nested too deeply to evaluate") from None
        return tree

    def evaluate_cell(self, sheet, row, col, formula):
        tree = self._tree((sheet, row, col), formula)
        try:
            return self.evaluator.evaluate(tree, sheet)
        except RecursionError:
            raise Unsupported("the formula is nested too deeply to evaluate") from None

    def _saved_value(self, sheet, row, col, exc):
        if self.saved is None:
            self.saved = openpyxl.load_workbook(self.path, data_only=True, read_only=False)
        value = self.saved[sheet]._cells.get((row, col))
        value = value.value if value is not None else None
        address = cell_address(row, col, sheet)
        if value is None:
            # in a chain of formulas that fail for one reason, name the first cell and the reason, not the chain
            root = getattr(exc, "root", None)
            why = f"through {root}" if root else str(exc)
            failure = Unsupported(f"it uses {address}, which could not be evaluated ({why}) and has no saved value")
            failure.root = root or f"{address}: {exc}"
            raise failure
        self.report.saved_values.append((address, f"could not be evaluated ({exc}); used the value Excel saved, "
                                                  f"{value!r}"))
        return XlError(value) if isinstance(value, str) and value in ERROR_CODES else value

    # --- the xlrec functions
    def _xlwings_settings(self) -> dict:
        """The workbook's xlwings settings: the first two columns of its ``xlwings.conf`` sheet, as xlwings
        reads them (``{setting: value}``)."""
        if "xlwings.conf" not in self.wb.sheetnames:
            return {}
        rows = self.wb["xlwings.conf"].iter_rows(min_col=1, max_col=2, values_only=True)
        return {k: v for k, v in rows if isinstance(k, str)}

    def _fit(self, cells, table=False, **params):
        from ..sheet.models import (
            FoldedFitted,
            book_models_folder,
            default_models,
            model_reference,
            resolve_model,
        )

        ref = model_reference(cells)
        if ref is not None:  # a model file named in the formula: in the models folder the workbook's xlwings.conf
            # sheet names, else XLREC_MODELS, else the workbook's own folder
            book = book_models_folder(self._xlwings_settings())
            fallback = None if book or os.environ.get("XLREC_MODELS") else Path(self.path).parent
            return default_models.get(resolve_model(ref, fallback, book_folder=book))
        with_file = self.model_file is not None and not table
        key = (id(cells), table, () if with_file else tuple(sorted(params.items())))
        fitted = self.fits.get(key)
        if fitted is None:
            sheet, row, col = self.origins.get(id(cells), (None, 1, 1))
            rows = [[v.code if isinstance(v, XlError) else v for v in r] for r in cells]
            matrix = _table(rows) if table else matrix_from_cells(rows, sheet=sheet, origin=(row, col))
            if with_file:
                folded = self.model_file.fold_in(matrix)
                self.report.remarks += [r for r in folded.remarks if r not in self.report.remarks]
                fitted = FoldedFitted(folded)
            else:
                model = make_model(**params) if table else choose_model(matrix, **params)
                fitted = Fitted(matrix, model.fit(matrix))
            self.fits[key] = fitted
        return fitted

    def _xlrec(self, name):
        f, _ = functions.FUNCTIONS[name]
        n_args = len(functions.ARGUMENTS[name])

        def call(args, sheet):
            if not 1 <= len(args) <= n_args:
                return XlError("#VALUE!", f"{name} takes 1 to {n_args} arguments, not {len(args)}")
            matrix = args[0] if isinstance(args[0], list) else [[args[0]]]
            rest = []
            for a in args[1:]:
                if isinstance(a, list):
                    if len(a) != 1 or len(a[0]) != 1:
                        return XlError("#VALUE!", f"{name}: a range of several cells where one value is expected")
                    a = a[0][0]
                if isinstance(a, XlError):
                    return a
                rest.append(a)
            try:
                return f(self._fit, matrix, *rest)
            except NotFoundError as exc:
                return XlError("#N/A", str(exc))
            except XlrecError as exc:
                return XlError("#VALUE!", str(exc))
        return call


def _write(cell, v):
    """Give ``cell`` a computed value: an error value's code as an error value, nothing for empty text, and
    text as text (never a formula, whatever it begins with: names come from strangers' workbooks)."""
    if isinstance(v, XlError):
        put_error(cell, v.code)
    else:
        put(cell, None if isinstance(v, str) and v == "" else v)


def convert_workbook(input_path, output_path, *, values_only=False, force=False, model_file=None) -> ConvertReport:
    """Write ``output_path``: ``input_path`` with its xlrec formulas (every formula with ``values_only``)
    replaced by their values. The input is never written. With ``model_file`` (a path, a name in the models
    folder, or a loaded model), every function over a matrix uses that model, applied to the matrix without
    fitting (new salespeople and clients folded in), whatever model its arguments name."""
    input_path, output_path = check_output(input_path, output_path)
    if model_file is not None and not isinstance(model_file, Model):
        from ..sheet.models import load_cached

        model_file = load_cached(model_file)
    wb = load_workbook(input_path, force=force)
    report = ConvertReport(output_path, dropped=wb.xlrec_dropped)
    book = _Book(wb, input_path, model_file)
    book.report = report

    targets = []  # (ws, cell, formula, is_array)
    for ws in wb.worksheets:
        for cell in list(ws._cells.values()):
            formula = _formula_of(cell)
            if formula is None:
                continue
            try:
                names = function_names(formula)
            except Unsupported as exc:
                if values_only:
                    report.unevaluable.append((cell_address(cell.row, cell.column, ws.title), formula, str(exc)))
                continue
            if values_only or names & XLREC_FUNCTIONS:
                targets.append((ws, cell, formula, isinstance(cell.value, ArrayFormula)))

    results = []
    for ws, cell, formula, is_array in targets:
        address = cell_address(cell.row, cell.column, ws.title)
        try:
            book.prepare(ws.title, cell.row, cell.column)  # the cells it depends on, in order, without recursion
            cycle = book.failed.get((ws.title, cell.row, cell.column))
            if isinstance(cycle, _Cycle):
                raise cycle
            value = book.evaluate_cell(ws.title, cell.row, cell.column, formula)
        except Unsupported as exc:
            report.unevaluable.append((address, formula, str(exc)))
            continue
        except _Cycle as exc:
            report.unevaluable.append((address, formula, f"circular reference through {exc}"))
            continue
        results.append((ws, cell, value, is_array))

    taken = set()  # cells written by an earlier spill
    for ws, cell, value, is_array in results:
        address = cell_address(cell.row, cell.column, ws.title)
        if isinstance(value, list):
            value = _place_table(ws, cell, value, is_array, report, taken)
        if isinstance(value, XlError):
            report.errors.append((address, value.code, value.reason))
        _write(cell, value)
        report.converted += 1
    save_atomic(wb, output_path)
    return report


def _place_table(ws, cell, table, is_array, report, taken):
    """Write a table result from ``cell``: over its array-formula range (padded with #N/A, as Excel does), or
    spilled into empty cells. Returns what the anchor cell gets."""
    rows, cols = len(table), max((len(r) for r in table), default=0)
    if rows == 0 or cols == 0:
        return None
    if is_array and cell.value.ref:  # an array formula: its range, whatever the size of the result
        c0, r0, c1, r1 = range_boundaries(cell.value.ref.replace("$", ""))
        height, width = r1 - r0 + 1, c1 - c0 + 1
    else:
        r0, c0, height, width = cell.row, cell.column, rows, cols
        if r0 + height - 1 > _EXCEL_LIMITS[0] or c0 + width - 1 > _EXCEL_LIMITS[1]:
            return XlError("#SPILL!", "the table would run off the sheet")
        blockers = [(r, c) for r in range(r0, r0 + height) for c in range(c0, c0 + width)
                    if (r, c) != (r0, c0) and ((ws.title, r, c) in taken or _occupied(ws, r, c))]
        if blockers:
            r, c = blockers[0]
            return XlError("#SPILL!", f"the table needs {cell_address(r0, c0)}:"
                                      f"{get_column_letter(c0 + width - 1)}{r0 + height - 1} and "
                                      f"{cell_address(r, c)} is not empty")
    for i in range(height):
        for j in range(width):
            if (i, j) == (0, 0):
                continue
            v = table[i][j] if i < rows and j < len(table[i]) else XlError("#N/A")
            _write(ws.cell(row=r0 + i, column=c0 + j), v)
            taken.add((ws.title, r0 + i, c0 + j))
            report.spilled += 1
    return table[0][0]


def _occupied(ws, row, col):
    cell = ws._cells.get((row, col))
    return cell is not None and cell.value is not None
