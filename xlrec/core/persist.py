"""Model files: a fitted model, written once by ``xlrec train`` and used by other machines and workbooks.

A model file (``.xlrec``) is a zip archive of exactly two members:

- ``model.json``: the card: the format and its version, the xlrec version that wrote it, the model's name and
  parameters, the salesperson and client labels, the model's learned numbers, a fingerprint (SHA-256) of the
  training data, the cross-validated scores when given (and, for a model chosen by ``xlrec train --tuned``,
  how the search chose it), the training date and where the data came from;
- ``arrays.npz``: the known cells (positions and values) and the model's learned arrays, written by
  ``np.savez`` and read with ``allow_pickle=False``.

Nothing in a model file is ever unpickled or executed: a model file from someone else cannot run code.
:func:`load_model` checks everything before any of it is used, within bounded time and memory, and refuses
anything else in one line: not a zip, other members, path tricks in member names, members larger than their
limits (declared, and as read: a zip bomb), a pickle inside, malformed JSON, a newer format version, an unknown
model, parameters outside the model's declaration, labels that are not unique strings, arrays whose names,
types or shapes do not match the model and the labels (each model declares them: ``Model.STATE_ARRAYS``),
positions outside the matrix, and training data that do not match the fingerprint.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from ..exceptions import InputError
from .matrix import MAX_AMOUNT, _key, shown
from .models import MODELS, Model, make_model

__all__ = ["save_model", "load_model", "read_card", "card_rows", "fingerprint", "Limits", "FORMAT",
           "FORMAT_VERSION", "SUFFIX"]

FORMAT = "xlrec-model"
#: the version of the format this xlrec writes and the newest it reads
FORMAT_VERSION = 1
SUFFIX = ".xlrec"
_MEMBERS = ("model.json", "arrays.npz")
_NPY_HEADER = 10_000 + 12  # the largest .npy header numpy reads (its max_header_size), with the magic
_KNOWN = {"known_rows": (("known",), "i"), "known_cols": (("known",), "i"), "known_values": (("known",), "f")}


@dataclass(frozen=True)
class Limits:
    """What a model file may hold at most (a larger one is refused before it is read)."""

    file_bytes: int = 2 << 30
    json_bytes: int = 64 << 20
    arrays_bytes: int = 2 << 30
    members: int = 64
    labels: int = 1 << 20
    cells: int = 1 << 28  # salespeople x clients: the matrix is built as doubles when a fill needs it


LIMITS = Limits()


def _version():
    from .. import __version__

    return __version__


def fingerprint(salespeople, clients, rows, cols, values) -> str:
    """SHA-256 of the training data: the labels, then the known cells' positions and values (little-endian
    int64, int64, float64, in row-major order)."""
    h = hashlib.sha256()
    h.update(json.dumps([list(salespeople), list(clients)], ensure_ascii=False).encode("utf-8"))
    for a, dtype in ((rows, "<i8"), (cols, "<i8"), (values, "<f8")):
        h.update(np.ascontiguousarray(a, dtype=dtype).tobytes())
    return "sha256:" + h.hexdigest()


# -- writing ----------------------------------------------------------------------------------------------------


def save_model(model: Model, path, scores=None, source=None, trained=None, atomic=True, tuning=None) -> dict:
    """Write the fitted ``model`` to ``path`` as a model file, atomically (a temporary file beside it, then
    a rename: an interrupted save leaves no partial file; ``atomic=False`` when the caller does that, as the
    command line does with :func:`xlrec.files.write_atomic`). Returns the card written.

    Parameters
    ----------
    model : Model
        Fitted.
    scores : dict or None
        The cross-validated scores to record (JSON-able), e.g. ``{"rmse": ..., "mae": ..., "folds": 5}``.
    source : str or None
        Where the training data came from (a file name), for the card.
    trained : datetime or None
        The training date (default: now, UTC).
    tuning : dict or None
        How the model and its parameters were chosen, when a search chose them (JSON-able, e.g.
        ``{"models": "neighbors, mf", "settings searched": 1254, ...}``); ``scores`` then holds the winner's
        nested cross-validated scores.
    """
    meta, arrays = model.to_state()
    when = trained or dt.datetime.now(dt.timezone.utc)
    card = {"format": FORMAT, "format_version": FORMAT_VERSION, "xlrec_version": _version(),
            "model": meta["model"], "params": meta["params"], "description": model.describe(),
            "trained": when.isoformat(timespec="seconds"), "source": source, "scores": scores,
            **({"tuning": tuning} if tuning else {}),
            "bookings": int(arrays["known_values"].size),
            "fingerprint": fingerprint(meta["salespeople"], meta["clients"], arrays["known_rows"],
                                       arrays["known_cols"], arrays["known_values"]),
            "learned": meta["learned"], "salespeople": meta["salespeople"], "clients": meta["clients"]}
    try:
        text = json.dumps(card, ensure_ascii=False, allow_nan=False, indent=1)
    except (TypeError, ValueError) as exc:
        raise InputError(f"the model cannot be saved: {exc}") from None
    buf = io.BytesIO()
    np.savez(buf, **{k: _compact(v) for k, v in arrays.items()})
    path = Path(path)
    if not atomic:
        with open(path, "wb") as f, zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr("model.json", text)
            z.writestr("arrays.npz", buf.getvalue(), compress_type=zipfile.ZIP_STORED)
        return card
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent if str(path.parent) else ".")
    try:
        with os.fdopen(fd, "wb") as f, zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr("model.json", text)
            z.writestr("arrays.npz", buf.getvalue(), compress_type=zipfile.ZIP_STORED)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return card


def _compact(a):
    """Whole numbers as int32 when they fit (positions: a third less to read); the reader widens them."""
    a = np.ascontiguousarray(a)
    if a.dtype.kind in "iu" and a.size and -(1 << 31) <= a.min() and a.max() < (1 << 31):
        return a.astype(np.int32)
    return a


# -- reading ----------------------------------------------------------------------------------------------------


class _Refused(Exception):
    """Why a model file is refused (turned into one InputError naming the file)."""


def load_model(path, limits: Limits = LIMITS, verify: bool = False) -> Model:
    """The fitted model in the model file ``path``, after checking all of it (see the module's text); its
    card (``model.json`` without the labels) is the model's ``card_``. Anything wrong is an
    :class:`~xlrec.exceptions.InputError` of one line naming the file.

    ``verify`` also recomputes the fingerprint of the training data and refuses a file whose data do not
    match it (a file edited by hand). Damage in transit is caught without it, by the zip's checksums."""
    card, arrays, lookups = _read(path, limits, verify)
    cls = MODELS[card["model"]]
    meta = {"model": card["model"], "params": card["params"], "salespeople": card["salespeople"],
            "clients": card["clients"], "learned": card["learned"]}
    try:
        model = cls.from_state(meta, arrays)
    except InputError as exc:
        raise InputError(f"{path}: not loaded: {exc}") from None
    except (KeyError, ValueError, TypeError, IndexError) as exc:  # a state the checks above let through
        raise InputError(f"{path}: not loaded: its state is inconsistent ({type(exc).__name__}: {exc})") from None
    if "_state_cells" in model.__dict__:  # the look-ups the checks built, for Model.value
        model._lookup = lookups
    model.card_ = {k: v for k, v in card.items() if k not in ("salespeople", "clients", "learned")}
    model.card_.update(salespeople=len(card["salespeople"]), clients=len(card["clients"]), path=str(path))
    return model


def read_card(path, limits: Limits = LIMITS) -> dict:
    """The checked card of a model file (what ``xlrec info`` prints: its fingerprint verified), with the
    number of labels in place of the labels."""
    return load_model(path, limits, verify=True).card_


def card_rows(card: dict) -> list:
    """The card as rows of (what, value), for ``xlrec info`` and ``MODEL_INFO``."""
    rows = [["Model file", Path(card.get("path", "")).name], ["Model", card["model"]],
            ["Description", card.get("description", "")]]
    rows += [[f"  {k}", "none" if v is None else v] for k, v in card["params"].items()]
    rows += [["Salespeople", card["salespeople"]], ["Clients", card["clients"]], ["Bookings", card.get("bookings", "")],
             ["Trained", card.get("trained") or ""], ["Source", card.get("source") or ""]]
    scores = card.get("scores")
    if isinstance(scores, dict):
        rows += [[f"Cross-validated {k}", v] for k, v in scores.items() if isinstance(v, (int, float, str))]
    tuning = card.get("tuning")
    if isinstance(tuning, dict):
        rows += [[f"Tuning: {k}", v] for k, v in tuning.items() if isinstance(v, (int, float, str))]
    rows += [["Fingerprint", card["fingerprint"]], ["xlrec version", card.get("xlrec_version", "")],
             ["Format version", card["format_version"]]]
    return rows


def _read(path, limits, verify):
    if not isinstance(path, (str, os.PathLike)):
        raise InputError(f"a model file is named by its path, not {shown(path)}")
    try:
        return _checked(path, limits, verify)
    except _Refused as exc:
        raise InputError(f"{path}: not loaded: {exc}") from None


def _checked(path, limits, verify):
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise _Refused("no such file") from None
    except OSError as exc:
        raise _Refused(exc.strerror or str(exc)) from None
    if not os.path.isfile(path):
        raise _Refused("not a file")
    if size > limits.file_bytes:
        raise _Refused(f"{size:,} bytes, more than a model file may have ({limits.file_bytes:,})")
    try:
        with zipfile.ZipFile(path) as z:
            infos = _members(z, limits, set(_MEMBERS), "")
            text = _member_bytes(z, infos["model.json"], limits.json_bytes, "model.json")
            packed = _member_bytes(z, infos["arrays.npz"], limits.arrays_bytes, "arrays.npz")
    except zipfile.BadZipFile as exc:
        raise _Refused(f"not a model file (not a zip archive, or a damaged one: {exc})") from None
    except (EOFError, ValueError, NotImplementedError, OSError, RuntimeError) as exc:
        raise _Refused(f"a damaged zip archive ({type(exc).__name__}: {exc})") from None
    card, rows_of, cols_of = _card(text, limits)
    arrays = _arrays(packed, card, limits)
    keys = _check_cells(card, arrays)
    if verify:
        found = fingerprint(card["salespeople"], card["clients"], arrays["known_rows"], arrays["known_cols"],
                            arrays["known_values"])
        if found != card.get("fingerprint"):
            raise _Refused("its training data do not match its fingerprint (the file was changed)")
    return card, arrays, (rows_of, cols_of, keys, arrays["known_values"])


def _bad_name(name: str):
    """What is wrong with a member's name, or None."""
    if "\\" in name:
        return "a backslash"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "an absolute path"
    if ".." in PurePosixPath(name).parts:
        return "'..'"
    if "\x00" in name:
        return "a NUL character"
    return None


def _members(z, limits, expected: set, within: str):
    """{name: ZipInfo} of an archive holding exactly ``expected``: names, counts, flags checked."""
    infos = z.infolist()
    if len(infos) > limits.members:
        raise _Refused(f"{within}{len(infos):,} members (a model file has {len(expected)})")
    seen = {}
    for info in infos:
        name = info.filename
        bad = _bad_name(name)
        if bad is not None:
            raise _Refused(f"member {shown(within + name)} has {bad} in its name (a path trick)")
        if name.lower().endswith((".pkl", ".pickle")):
            raise _Refused(f"member {shown(within + name)} is a pickle (model files hold numbers and text only)")
        if name in seen:
            raise _Refused(f"member {shown(within + name)} appears twice")
        if info.flag_bits & 0x1:
            raise _Refused(f"member {shown(within + name)} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _Refused(f"member {shown(within + name)} uses a compression model files do not use")
        seen[name] = info
    extra = sorted(set(seen) - expected)
    if extra:
        raise _Refused(f"unexpected member {shown(within + extra[0])} (a model file holds "
                       f"{', '.join(within + e for e in sorted(expected))})")
    missing = sorted(expected - set(seen))
    if missing:
        raise _Refused(f"it lacks {within + missing[0]}")
    return seen


def _member_bytes(z, info, cap, name) -> bytes:
    """A member's content, refused when it says or turns out to be larger than ``cap`` (read in chunks: a
    member that decompresses to more than it declares is stopped at ``cap``)."""
    if info.file_size > cap:
        raise _Refused(f"{name} is {info.file_size:,} bytes, more than its limit ({cap:,})")
    with z.open(info) as f:  # reads at most the declared size: more fails the member's checksum
        data = f.read(cap + 1)
    if len(data) > cap:
        raise _Refused(f"{name} is larger than its limit ({cap:,} bytes)")
    return data


def _stored(packed: bytes, info, cap, name):
    """The bytes of a stored (uncompressed) member of the npz ``packed``, sliced from it without a copy, or
    None for a compressed member. The member's checksum is not computed again: the outer zip's checksum
    already covered these bytes."""
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    if info.file_size > cap:
        raise _Refused(f"{name} is {info.file_size:,} bytes, more than its limit ({cap:,})")
    at = info.header_offset
    head = packed[at:at + 30]
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        raise _Refused(f"{name}: a damaged npz archive")
    n, extra = int.from_bytes(head[26:28], "little"), int.from_bytes(head[28:30], "little")
    if packed[at + 30:at + 30 + n] != info.filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437"):
        raise _Refused(f"{name}: a damaged npz archive (its local name differs)")
    start = at + 30 + n + extra
    if start + info.file_size > len(packed) or info.compress_size != info.file_size:
        raise _Refused(f"{name}: a damaged npz archive")
    return memoryview(packed)[start:start + info.file_size]


def _no_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")


def _card(text: bytes, limits) -> dict:
    try:
        card = json.loads(text.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _Refused(f"model.json is not valid JSON ({str(exc)[:120]})") from None
    if not isinstance(card, dict) or card.get("format") != FORMAT:
        raise _Refused(f"model.json is not an xlrec model card (its \"format\" is not {FORMAT!r})")
    version = card.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _Refused(f"model.json: format_version {shown(version)} is not a version number")
    if version > FORMAT_VERSION:
        raise _Refused(f"written in model file format {version} by xlrec {card.get('xlrec_version', '?')}; this "
                       f"xlrec ({_version()}) reads format {FORMAT_VERSION} at most: upgrade xlrec")
    name = card.get("model")
    if not isinstance(name, str) or name not in MODELS:
        raise _Refused(f"unknown model {shown(name)} (this xlrec knows: {', '.join(MODELS)})")
    params = card.get("params")
    if not isinstance(params, dict):
        raise _Refused("model.json: params is not a table of parameters")
    try:
        make_model(name, **params).check()
    except InputError as exc:
        raise _Refused(f"parameters: {exc}") from None
    except TypeError as exc:
        raise _Refused(f"parameters: {exc}") from None
    kinds = (("salespeople", "salesperson"), ("clients", "client"))
    for kind, _ in kinds:
        labels = card.get(kind)
        if not isinstance(labels, list) or not labels:
            raise _Refused(f"model.json: {kind} is not a list of names")
        if len(labels) > limits.labels:
            raise _Refused(f"{len(labels):,} {kind}, more than a model file may have ({limits.labels:,})")
    n, m = len(card["salespeople"]), len(card["clients"])
    if n < 2:
        raise _Refused("fewer than 2 salespeople")
    if n * m > limits.cells:
        raise _Refused(f"{n:,} x {m:,} cells, more than a model file may have ({limits.cells:,})")
    index = []
    for kind, what in kinds:
        labels = card[kind]
        ok = all(type(label) is str for label in labels)
        keys = [" ".join(label.split()).casefold() for label in labels] if ok else []  # matrix._key, inlined
        seen = dict(zip(keys, range(len(keys))))
        if not ok or len(seen) != len(labels) or "" in seen:  # find the first problem, to name it
            seen = {}
            for pos, label in enumerate(labels):
                key = _key(label) if isinstance(label, str) else ""
                if not key:
                    raise _Refused(f"{what} name at position {pos + 1} is {shown(label)}, not a name")
                if key in seen:
                    raise _Refused(f"duplicate {what} name {shown(label)} at positions {seen[key] + 1} and "
                                   f"{pos + 1}")
                seen[key] = pos
        index.append(seen)
    learned = card.get("learned")
    if not isinstance(learned, dict):
        raise _Refused("model.json: learned is not a table")
    for key in MODELS[name].STATE_NUMBERS:
        v = learned.get(key)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
            raise _Refused(f"model.json: learned {key} is {shown(v)}, not a number")
    objective = learned.get("objective", [])
    if not isinstance(objective, list) or not all(isinstance(v, (int, float)) for v in objective):
        raise _Refused("model.json: learned objective is not a list of numbers")
    if "periods" in learned or name == "cp":
        periods = learned.get("periods")
        if not isinstance(periods, list) or not periods or not all(isinstance(p, str) for p in periods) \
                or len(set(periods)) != len(periods) or len(periods) > limits.labels:
            raise _Refused("model.json: learned periods is not a list of distinct period names")
    if not isinstance(card.get("fingerprint"), str):
        raise _Refused("model.json: no fingerprint of the training data")
    return card, index[0], index[1]


def _arrays(packed: bytes, card, limits) -> dict:
    """The arrays of ``arrays.npz``, each header checked (no object dtype, the declared shape, the size)
    before its data are read."""
    cls = MODELS[card["model"]]
    spec = {**_KNOWN, **cls.STATE_ARRAYS}
    dims = {"salespeople": len(card["salespeople"]), "clients": len(card["clients"])}
    if "rank" in card["params"]:
        dims["rank"] = card["params"]["rank"]
    if "periods" in card["learned"]:
        dims["periods"] = len(card["learned"]["periods"])
    try:
        z = zipfile.ZipFile(io.BytesIO(packed))
    except zipfile.BadZipFile:
        raise _Refused("arrays.npz is not an npz archive") from None
    with z:
        infos = _members(z, limits, {name + ".npy" for name in spec}, "arrays.npz/")
        budget = limits.arrays_bytes
        out = {}
        for name, (shape, kind) in spec.items():
            member = f"arrays.npz/{name}.npy"
            data = _stored(packed, infos[name + ".npy"], budget, member)
            if data is None:  # compressed: read through zipfile
                data = _member_bytes(z, infos[name + ".npy"], budget, member)
            budget -= len(data)
            f = io.BytesIO(bytes(data[:_NPY_HEADER]))  # the header only: the data are sliced below
            try:
                version = np.lib.format.read_magic(f)
                read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                               (2, 0): np.lib.format.read_array_header_2_0}.get(version)
                if read_header is None:
                    raise ValueError(f"format version {version}")
                header = read_header(f)
            except (ValueError, SyntaxError, TypeError) as exc:
                raise _Refused(f"{member} is not a .npy array ({str(exc)[:120]})") from None
            found_shape, _, dtype = header
            if dtype.hasobject:
                raise _Refused(f"{member} holds Python objects, which would be unpickled (model files hold "
                               "numbers only)")
            if dtype.kind not in ("f", "i", "u") or dtype.itemsize > 8:
                raise _Refused(f"{member} holds {dtype}, not numbers")
            want = kind
            if (want == "f") != (dtype.kind == "f"):
                raise _Refused(f"{member} holds {dtype}, not {'decimal' if want == 'f' else 'whole'} numbers")
            expected = []
            for d in shape:
                if isinstance(d, int):
                    expected.append(d)
                elif d in dims:
                    expected.append(dims[d])
                else:  # a free dimension (the known cells): bound by its first array
                    dims[d] = found_shape[len(expected)] if len(found_shape) > len(expected) else -1
                    expected.append(dims[d])
            if tuple(found_shape) != tuple(expected):
                raise _Refused(f"{member} has shape {tuple(found_shape)}, not {tuple(expected)} (its model "
                               f"{card['model']} with {dims['salespeople']:,} salespeople x "
                               f"{dims['clients']:,} clients)")
            count = int(np.prod(found_shape, dtype=np.int64))
            if len(data) - f.tell() != count * dtype.itemsize:
                raise _Refused(f"{member} is damaged (it holds {len(data) - f.tell():,} bytes of data for "
                               f"{count:,} numbers)")
            a = np.frombuffer(data, dtype=dtype, count=count, offset=f.tell()).reshape(
                found_shape, order="F" if header[1] else "C")
            a = a.astype(np.float64 if want == "f" else np.int64)  # native order, writable, our own
            if want == "f" and not np.isfinite(a).all() and name not in ("means",):
                raise _Refused(f"{member} holds a value that is not a finite number")
            out[name] = a
    return out


def _check_cells(card, arrays):
    """Positions inside the matrix, each known cell once and in row-major order, amounts in range."""
    n, m = len(card["salespeople"]), len(card["clients"])
    rows, cols, values = arrays["known_rows"], arrays["known_cols"], arrays["known_values"]
    if values.size == 0:
        raise _Refused("no known booking")
    for a, top, what in ((rows, n, "salesperson"), (cols, m, "client")):
        if a.min() < 0 or a.max() >= top:
            raise _Refused(f"a known cell's {what} position is outside the {n:,} x {m:,} matrix")
    keys = rows * m + cols
    if keys.size > 1 and not (keys[1:] > keys[:-1]).all():
        raise _Refused("the known cells are repeated or out of order")
    size = np.abs(values)
    if (size > MAX_AMOUNT).any():
        raise _Refused(f"a known booking is beyond the amounts xlrec computes with ({MAX_AMOUNT:g})")
    if "tensor_rows" in arrays:
        T = len(card["learned"]["periods"])
        for key, top in (("tensor_rows", n), ("tensor_cols", m), ("tensor_periods", T)):
            a = arrays[key]
            if a.size and (a.min() < 0 or a.max() >= top):
                raise _Refused(f"arrays.npz/{key}.npy has a position outside the model's {top:,}")
    if "counts" in arrays and (arrays["counts"] < 0).any():
        raise _Refused("arrays.npz/counts.npy holds a negative count")
    return keys
