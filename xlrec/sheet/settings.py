"""A model and its parameters as a spreadsheet gives them: function arguments, a settings range, the
``xlrec.conf`` sheet the Fill blanks button reads.

Values come as a spreadsheet holds them (a whole number as ``3.0``, text, blanks for "not given"); each is
converted and checked by the model's declaration (:mod:`xlrec.core.models.params`).
"""

from __future__ import annotations

from ..core.models import DEFAULT_MODEL, model_class
from ..core.models.base import unknown_parameter
from ..exceptions import InputError

__all__ = ["CONF_SHEET", "blank", "params", "settings_pairs", "conf_params"]

#: the sheet of a workbook whose two columns (setting, value) set the Fill blanks button's model
CONF_SHEET = "xlrec.conf"


def blank(v) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def settings_pairs(settings) -> list:
    """(name, value) pairs from a ``settings`` argument: a range of two columns (name, value), or text such
    as ``"reg_client=5; iterations=20"``."""
    if blank(settings):
        return []
    if isinstance(settings, (list, tuple)):
        rows = settings if settings and isinstance(settings[0], (list, tuple)) else [settings]
        pairs = []
        for row in rows:
            cells = [v for v in row if not blank(v)]
            if not cells:
                continue
            if len(cells) == 1 and isinstance(cells[0], str):  # a cell of text: "reg_client=5; iterations=20"
                pairs += settings_pairs(cells[0])
                continue
            if len(cells) != 2 or not isinstance(cells[0], str):
                raise InputError(f"settings: {list(row)!r} is not a row of a name and a value")
            pairs.append((cells[0], cells[1]))
        return pairs
    pairs = []
    for part in str(settings).replace(",", ";").split(";"):
        if not part.strip():
            continue
        name, eq, value = part.partition("=")
        if not eq:
            raise InputError(f"settings: {part.strip()!r} is not name=value (e.g. \"reg_client=5; iterations=20\")")
        pairs.append((name, value))
    return pairs


def params(model=None, settings=None, **given) -> dict:
    """The model's name and parameters from a spreadsheet's arguments: a blank argument is omitted (the
    model's default), a value is converted by the model's declaration (``3.0`` or ``"3"`` for ``k`` is 3) and
    checked. ``given`` are the function's own parameter arguments (``k``, ``metric``...); ``settings`` adds
    any other parameter of the model."""
    name = DEFAULT_MODEL if blank(model) else str(model).strip().lower()
    if name == "auto":  # chosen by a short search (xlrec.core.tune.choose_model): it takes no parameters
        given = [str(k) for k, v in [*given.items(), *settings_pairs(settings)] if not blank(v)]
        if given:
            raise InputError(f"model auto chooses the settings itself; {', '.join(given)} cannot be given with it "
                             "(name a model to set them)")
        return {"model": name}
    declared = {p.name: p for p in model_class(name).PARAMS}
    out = {"model": name}
    for key, value in [*given.items(), *settings_pairs(settings)]:
        if blank(value):
            continue
        key = str(key).strip().lower().replace("-", "_").replace(" ", "_")
        if key not in declared:
            raise InputError(unknown_parameter(name, key, list(declared)))
        out[key] = declared[key].parse(value)
    return out


def conf_params(rows, origin=None) -> dict:
    """The model settings of an ``xlrec.conf`` sheet (its cells as rows): a row ``model | baseline`` names the
    model, other rows its parameters (``k | 3``); or a row ``model_file | pipeline-2026Q3`` names a model
    file (a path, or a name in the models folder), which is then the whole setting: ``{"model_file": ...}``.
    Blank rows, and a header row ``setting | value``, are skipped. Errors name the sheet; and the cell, when
    ``origin`` gives the sheet row and column of each row's first cell (a list of (row, column))."""
    try:
        return _conf_params(rows)
    except InputError as exc:
        if origin is None:
            raise
        where = _conf_cell(rows, origin)
        raise InputError(str(exc).replace(f"sheet {CONF_SHEET}:", f"sheet {CONF_SHEET}, cell {where}:", 1)
                         if where else str(exc)) from None


def _conf_cell(rows, origin):
    """The A1 address of the first cell of ``rows`` that makes :func:`conf_params` fail: the name of a
    setting the model does not have, else the value of the first row that fails alone with the model."""
    from .cells import cell_address

    def name(k):
        return str(k).strip().lower().replace(" ", "_").replace("-", "_")

    located = []  # (row index, name, value)
    for k, row in enumerate(rows):
        try:
            located += [(k, key, value) for key, value in settings_pairs([list(row)])]
        except InputError:
            return cell_address(origin[k][0], origin[k][1])
    if located and name(located[0][1]) in ("setting", "settings", "name", "parameter"):
        located = located[1:]
    model = [(k, v) for k, key, v in located if name(key) == "model"]
    try:
        params(model[-1][1] if model else None)
    except InputError:
        k = model[-1][0]
        return cell_address(origin[k][0], origin[k][1] + 1)
    for k, key, value in located:
        if name(key) in ("model", "model_file"):
            continue
        try:
            params(model[-1][1] if model else None, [(key, value)])
        except InputError:
            try:
                chosen = model_class(str(model[-1][1]).strip().lower() if model else DEFAULT_MODEL)
                declared = {p.name for p in chosen.PARAMS}
            except (InputError, KeyError, ValueError):  # "auto", which takes no parameters
                declared = set()
            return cell_address(origin[k][0], origin[k][1] + (name(key) in declared))
    files = [k for k, key, _ in located if name(key) == "model_file"]
    others = [k for k, key, _ in located if name(key) != "model_file"]
    if files and others:
        return cell_address(origin[others[0]][0], origin[others[0]][1])
    return None


def _conf_params(rows) -> dict:
    pairs = settings_pairs([list(r) for r in rows])
    if pairs and str(pairs[0][0]).strip().lower() in ("setting", "settings", "name", "parameter"):
        pairs = pairs[1:]  # a header row
    def name(k):
        return str(k).strip().lower().replace(" ", "_").replace("-", "_")

    model = [v for k, v in pairs if name(k) == "model"]
    files = [v for k, v in pairs if name(k) == "model_file" and not blank(v)]
    rest = [(k, v) for k, v in pairs if name(k) not in ("model", "model_file")]
    if files:  # a model file fixes the model and its parameters
        if model or rest:
            what = "model" if model else str(rest[0][0]).strip()
            raise InputError(f"sheet {CONF_SHEET}: model_file fixes the model and its parameters; remove the "
                             f"row {what!r} (or the row model_file)")
        return {"model_file": str(files[-1]).strip()}
    try:
        return params(model[-1] if model else None, rest)
    except InputError as exc:
        raise InputError(f"sheet {CONF_SHEET}: {exc}") from None
