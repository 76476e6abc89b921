"""Model files where a spreadsheet names them: an Excel function given a model instead of a matrix, the Fill
blanks button's ``model_file`` setting, ``--model-file``.

A model argument is one cell of text: a path to a ``.xlrec`` file, or a name looked up in the models folder:
``"pipeline-2026Q3"`` is ``FOLDER/pipeline-2026Q3.xlrec``. The models folder is, first found:

1. the workbook's own setting, a row ``XLREC_MODELS | folder`` in its ``xlwings.conf`` sheet (where xlwings
   keeps a workbook's settings), when the caller can read the workbook: the Fill blanks button always can; an
   Excel function only under classic desktop xlwings (Windows), which hands it the calling cell: under
   xlwings Server and xlwings Lite (Office.js) a custom function receives its arguments and never the
   workbook;
2. the environment variable ``XLREC_MODELS``.

The workbook wins, as xlwings' own ``xlwings.conf`` sheet wins over its user-wide settings: the more specific
setting is the one someone chose for this workbook. A loaded model is cached and read again when its file
changes (its modification time or size).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..core.matrix import shown
from ..core.persist import SUFFIX, load_model
from ..exceptions import InputError
from .cache import Fitted, _Bounded

__all__ = ["MODELS_ENV", "BOOK_SETTING", "book_models_folder", "model_reference", "resolve_model", "ModelCache",
           "default_models", "LoadedFitted",
           "FoldedFitted", "load_cached"]

#: the environment variable naming the models folder, and the key of the row of a workbook's xlwings.conf sheet
MODELS_ENV = "XLREC_MODELS"
#: where a models folder set in a workbook was found, as messages name it
BOOK_SETTING = f"{MODELS_ENV} in the workbook's xlwings.conf sheet"


def book_models_folder(settings):
    """The models folder a workbook's xlwings settings name (``{key: value}`` of its ``xlwings.conf`` sheet, as
    ``xlwings.utils.read_config_sheet`` reads them; the key matched case-insensitively), or None."""
    for key, value in (settings or {}).items():
        if isinstance(key, str) and key.strip().upper() == MODELS_ENV and isinstance(value, str) and value.strip():
            return value.strip()
    return None


def model_reference(cells):
    """The text of a model argument, or None when ``cells`` are not one: a string, or a single cell (1 x 1)
    holding text. A sales matrix has at least two rows, so the two never meet."""
    v = cells
    while isinstance(v, (list, tuple)) and len(v) == 1:
        v = v[0]
    if isinstance(v, str) and v.strip():
        return v.strip()
    return None


def resolve_model(ref, folder=None, check=True, book_folder=None) -> str:
    """The path of the model file ``ref`` names: a path (it holds a folder separator or ends in .xlrec),
    relative ones taken from the models folder when one is set; else a name in the models folder:
    ``folder`` if given, else ``book_folder`` (the workbook's ``XLREC_MODELS`` setting,
    :func:`book_models_folder`), else the environment variable ``XLREC_MODELS``. With ``check``, a file that
    is not there is an InputError naming the models folder, where it was set, and what it holds (without,
    the caller's ``os.stat`` finds out: one system call less on the path of every formula)."""
    where = MODELS_ENV
    if not folder and book_folder:
        folder, where = book_folder, BOOK_SETTING
    folder = folder or os.environ.get(MODELS_ENV) or None
    text = str(ref).strip()
    is_path = "/" in text or "\\" in text or text.lower().endswith(SUFFIX)
    if is_path:
        path = os.path.expanduser(text)
        if not os.path.isabs(path) and folder:
            path = os.path.join(folder, path)
    else:
        if not folder:
            raise InputError(f"no model named {shown(text)}: set {MODELS_ENV} to the models folder (or a row "
                             f"{MODELS_ENV} | folder in the workbook's xlwings.conf sheet), or give the path of a "
                             f"{SUFFIX} file")
        path = os.path.join(folder, text + SUFFIX)
    if check and not os.path.isfile(path):
        if is_path:
            raise InputError(f"{path}: no such model file")
        names = _names(folder)
        hint = f"; it holds: {', '.join(names[:10])}" if names else f"; it holds no {SUFFIX} file"
        raise InputError(f"no model {shown(text)} in the models folder {folder} ({where}){hint}")
    return path


def _names(folder):
    try:
        return sorted(p.stem for p in Path(folder).glob("*" + SUFFIX))
    except OSError:
        return []


class LoadedFitted(Fitted):
    """A model read from a file, as the Excel functions use a fitted matrix (:class:`~.cache.Fitted`): one
    cell without building the matrix (:meth:`value`), the matrix and a fill only when asked for."""

    def __init__(self, model, path):
        super().__init__(None, model)
        self.path = path  # str

    @property
    def matrix(self):
        return self.model.matrix_

    def value(self, salesperson, client):
        return self.model.value(salesperson, client)

    def predict(self, salesperson, client):
        return self.model.predict(salesperson, client)


class FoldedFitted(Fitted):
    """A model file applied to a matrix (:class:`~xlrec.core.models.base.FoldIn`), as a fitted matrix."""

    def __init__(self, folded):
        super().__init__(folded.matrix, folded.model)
        self.folded = folded

    def _fill(self):
        return self.folded.fill(explain=True)


class ModelCache(_Bounded):
    """Loaded model files by path, read again when a file's modification time or size changes; at most
    ``maxsize`` kept, least recently used dropped first."""

    def __init__(self, maxsize: int = 8):
        super().__init__(maxsize)
        self.loads = 0

    def get(self, path) -> LoadedFitted:
        key = os.fspath(path)
        try:
            st = os.stat(key)
        except OSError as exc:
            raise InputError(f"{key}: {exc.strerror or exc}") from None
        signature = (st.st_mtime_ns, st.st_size)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == signature:
                self._entries.move_to_end(key)
                return entry[1]
        fitted = LoadedFitted(load_model(path), path)
        self.loads += 1
        self._keep(key, (signature, fitted))
        return fitted


#: the model files the Excel functions, the button and the command line share in one process
default_models = ModelCache()


def load_cached(ref, folder=None, book_folder=None):
    """The model file ``ref`` names (:func:`resolve_model`), loaded once per change of the file: a fitted
    model."""
    return default_models.get(resolve_model(ref, folder, book_folder=book_folder)).model
