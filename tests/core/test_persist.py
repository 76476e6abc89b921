"""Model files: the round trip, folding in, and every kind of hostile file refused in one line within a second."""

import io
import json
import struct
import time
import warnings
import zipfile

import numpy as np
import pytest

from xlrec.core.matrix import SalesMatrix
from xlrec.core.models import MODELS, make_model
from xlrec.core.persist import FORMAT_VERSION, Limits, card_rows, load_model, save_model
from xlrec.exceptions import InputError, NotFoundError


def _matrix(n=12, m=9, seed=0, blanks=0.3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)) @ rng.normal(size=(3, m)) * 100 + 1000
    x[rng.random(x.shape) < blanks] = np.nan
    x[:, 0] = np.where(np.isnan(x[:, 0]), 900.0, x[:, 0])  # every salesperson has a booking
    return SalesMatrix([f"S{i}" for i in range(n)], [f"C{j}" for j in range(m)], x)


@pytest.fixture
def mf_file(tmp_path):
    path = tmp_path / "model.xlrec"
    save_model(make_model("mf", rank=2).fit(_matrix()), path, scores={"rmse": 12.5}, source="sales.xlsx")
    return path


@pytest.mark.parametrize("name", [n for n in MODELS if n != "cp"])
def test_a_saved_model_predicts_as_the_fitted_one(name, tmp_path):
    m = _matrix()
    model = make_model(name).fit(m)
    save_model(model, tmp_path / "m.xlrec")
    back = load_model(tmp_path / "m.xlrec")
    np.testing.assert_array_equal(back.fill().values, model.fill().values)
    i, j = np.argwhere(~m.known)[0]
    assert back.value(m.salespeople[i], m.clients[j]) == pytest.approx(model.fill().values[i, j], rel=1e-15)
    assert back.card_["model"] == name and back.card_["salespeople"] == 12


def test_cp_round_trips_too(tmp_path):
    m = _matrix()
    model = make_model("cp").fit(m)
    save_model(model, tmp_path / "cp.xlrec")
    np.testing.assert_array_equal(load_model(tmp_path / "cp.xlrec").fill().values, model.fill().values)


def test_the_card(mf_file):
    card = load_model(mf_file).card_
    assert card["format_version"] == FORMAT_VERSION and card["scores"] == {"rmse": 12.5}
    assert card["fingerprint"].startswith("sha256:") and card["source"] == "sales.xlsx"
    rows = dict((r[0], r[1]) for r in card_rows(card))
    assert rows["Model"] == "mf" and rows["  rank"] == 2 and rows["Cross-validated rmse"] == 12.5


def test_a_loaded_model_builds_no_matrix_to_predict_one_cell(mf_file):
    model = load_model(mf_file)
    model.value("S1", "C3")
    assert "_matrix" not in model.__dict__
    with pytest.raises(NotFoundError, match="unknown salesperson 'S99': not among the model's 12 salespeople"):
        model.value("S99", "C1")


# -- folding in ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reg_weight", ["sqrt", "count", "none"])
def test_mf_folds_in_a_held_out_salesperson_as_a_ridge_solve_with_the_clients_fixed(reg_weight):
    full = _matrix(n=15, m=10, seed=3, blanks=0.25)
    held = 7
    keep = [i for i in range(15) if i != held]
    trained = SalesMatrix([full.salespeople[i] for i in keep], full.clients, full.values[keep])
    model = make_model("mf", rank=3, l2=0.5, reg_weight=reg_weight).fit(trained)
    folded = model.fold_in(full)
    values = folded.fill().values

    # the same solve written out: least squares on [1, q_c] over the clients it booked, augmented by
    # sqrt(l2 * weight) * I for the ridge penalty on [b_s, p_s]
    mu, s = model.mean_, model.scale_
    Q, bc = model.client_factors_, model.client_offsets_
    row = full.values[held]
    J = np.flatnonzero(~np.isnan(row))
    weight = {"sqrt": np.sqrt(J.size), "count": float(J.size), "none": 1.0}[reg_weight]
    A = np.hstack([np.ones((J.size, 1)), Q[J]])
    y = (row[J] - mu) / s - bc[J]
    A_aug = np.vstack([A, np.sqrt(0.5 * weight) * np.eye(4)])
    y_aug = np.concatenate([y, np.zeros(4)])
    w, *_ = np.linalg.lstsq(A_aug, y_aug, rcond=None)
    expected = mu + s * (w[0] + bc + Q @ w[1:])
    blanks = np.isnan(row)
    np.testing.assert_allclose(values[held, blanks], expected[blanks], rtol=1e-10)
    # the trained salespeople keep their predictions
    np.testing.assert_array_equal(values[keep], model.fill().values)
    assert folded.remarks == ["1 salesperson not in the model file folded in from their bookings"]


def test_mf_folds_in_a_new_client_against_the_salespeople():
    full = _matrix(n=15, m=10, seed=4)
    trained = SalesMatrix(full.salespeople, full.clients[:-1], full.values[:, :-1])
    model = make_model("mf", rank=2, l2=1.0, reg_weight="none").fit(trained)
    values = model.fold_in(full).fill().values
    mu, s, P, bs = model.mean_, model.scale_, model.salesperson_factors_, model.salesperson_offsets_
    col = full.values[:, -1]
    I = np.flatnonzero(~np.isnan(col))
    A_aug = np.vstack([np.hstack([np.ones((I.size, 1)), P[I]]), np.eye(3)])
    w, *_ = np.linalg.lstsq(A_aug, np.concatenate([(col[I] - mu) / s - bs[I], np.zeros(3)]), rcond=None)
    blanks = np.isnan(col)
    np.testing.assert_allclose(values[blanks, -1], (mu + s * (w[0] + bs + P @ w[1:]))[blanks], rtol=1e-10)


def test_a_new_salesperson_with_no_booking_among_the_models_clients_is_said():
    full = _matrix(n=6, m=5, seed=1, blanks=0.0)
    trained = SalesMatrix(full.salespeople[:5], full.clients[:4], full.values[:5, :4])
    x = np.array(full.values)
    x[5, :4] = np.nan  # the new salesperson booked only the new client
    folded = make_model("mf", rank=1).fit(trained).fold_in(SalesMatrix(full.salespeople, full.clients, x))
    assert "1 of them with no booking among the model's clients: the mean and offsets alone" in folded.remarks


def test_neighbours_fold_in_as_if_fitted_on_the_union():
    full = _matrix(n=10, m=8, seed=5)
    trained = SalesMatrix(full.salespeople[:8], full.clients, full.values[:8])
    folded = make_model("neighbors", k=3).fit(trained).fold_in(full)
    np.testing.assert_array_equal(folded.fill().values, make_model("neighbors", k=3).fit(full).fill().values)


def test_baseline_folds_in_the_offset_of_its_last_step():
    full = _matrix(n=10, m=8, seed=6)
    trained = SalesMatrix(full.salespeople[:9], full.clients, full.values[:9])
    model = make_model("baseline").fit(trained)
    values = model.fold_in(full).fill().values
    row = full.values[9]
    J = ~np.isnan(row)
    b = (row[J] - model.mean_ - model.client_offsets_[J]).sum() / (model.reg_salesperson + J.sum())
    np.testing.assert_allclose(values[9, ~J], (model.mean_ + b + model.client_offsets_)[~J], rtol=1e-12)


def test_cp_refuses_to_fold_in():
    m = _matrix()
    with pytest.raises(InputError, match="cp model file predicts periods"):
        make_model("cp").fit(m).fold_in(_matrix(n=13))


# -- hostile files ------------------------------------------------------------------------------------------------


def _parts(path):
    with zipfile.ZipFile(path) as z:
        card = json.loads(z.read("model.json"))
        with np.load(io.BytesIO(z.read("arrays.npz")), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    return card, arrays


def _npz(arrays, **members):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    if members:
        with zipfile.ZipFile(buf, "a") as z:
            for name, data in members.items():
                z.writestr(name, data)
    return buf.getvalue()


def _write(path, members):
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        warnings.simplefilter("ignore")  # zipfile warns of a duplicate name: one case writes one on purpose
        for name, data in members:
            z.writestr(name, data)
    return path


def _rebuilt(src, dst, card=None, arrays=None):
    c, a = _parts(src)
    if card:
        card(c)
    if arrays:
        arrays(a)
    return _write(dst, [("model.json", json.dumps(c)), ("arrays.npz", _npz(a))])


def _refused(path, match, limits=None):
    start = time.perf_counter()
    with pytest.raises(InputError, match=match) as info:
        load_model(path, **({"limits": limits} if limits else {}), verify=True)
    assert time.perf_counter() - start < 1.0
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def _pickled_object_array():
    buf = io.BytesIO()
    np.save(buf, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    return buf.getvalue()


def _set(d, key, value):
    d[key] = value


HOSTILE = {
    "not a zip": (lambda src, dst: (dst.write_bytes(b"PK\x03\x04 not really a zip"), dst)[1],
                  "not a model file \\(not a zip archive"),
    "a workbook": (lambda src, dst: _write(dst, [("[Content_Types].xml", "<Types/>")]),
                   "unexpected member '\\[Content_Types\\].xml'"),
    "missing arrays": (lambda src, dst: _write(dst, [("model.json", "{}")]), "lacks arrays.npz"),
    "extra member": (lambda src, dst: _write(dst, [*_members(src), ("readme.txt", "hi")]),
                     "unexpected member 'readme.txt'"),
    "dot-dot": (lambda src, dst: _write(dst, [*_members(src), ("../evil.py", "x")]), "has '..' in its name"),
    "absolute": (lambda src, dst: _write(dst, [*_members(src), ("/etc/evil", "x")]), "an absolute path"),
    "backslash": (lambda src, dst: _write(dst, [*_members(src), ("..\\evil.py", "x")]), "a backslash"),
    "pickle member": (lambda src, dst: _write(dst, [*_members(src), ("model.pkl", b"\x80\x04.")]),
                      "'model.pkl' is a pickle"),
    "pickle in the npz": (lambda src, dst: _write(dst, [_members(src)[0], ("arrays.npz", _npz(
        _parts(src)[1], **{"state.pkl": b"\x80\x04."}))]), "arrays.npz/state.pkl' is a pickle"),
    "object array": (lambda src, dst: _write(dst, [_members(src)[0], ("arrays.npz", _npz(
        {k: v for k, v in _parts(src)[1].items() if k != "client_offsets"},
        **{"client_offsets.npy": _pickled_object_array()}))]), "holds Python objects, which would be unpickled"),
    "duplicate member": (lambda src, dst: _write(dst, [*_members(src), _members(src)[0]]), "appears twice"),
    "malformed json": (lambda src, dst: _write(dst, [("model.json", "{\"format\": "), _members(src)[1]]),
                       "model.json is not valid JSON"),
    "json NaN": (lambda src, dst: _write(dst, [("model.json", "{\"format\": NaN}"), _members(src)[1]]),
                 "model.json is not valid JSON"),
    "deep json": (lambda src, dst: _write(dst, [("model.json", "[" * 100_000), _members(src)[1]]),
                  "model.json is not valid JSON"),
    "not a card": (lambda src, dst: _write(dst, [("model.json", "[1, 2]"), _members(src)[1]]),
                   "not an xlrec model card"),
    "newer format": (lambda src, dst: _rebuilt(src, dst, card=lambda c: _set(c, "format_version", 99)),
                     "written in model file format 99 .* reads format 1 at most: upgrade xlrec"),
    "unknown model": (lambda src, dst: _rebuilt(src, dst, card=lambda c: _set(c, "model", "os.system")),
                      "unknown model 'os.system'"),
    "bad parameter": (lambda src, dst: _rebuilt(src, dst, card=lambda c: c["params"].update(rank=-1)),
                      "parameters: rank must be a whole number from 1 to 1000, got -1"),
    "unknown parameter": (lambda src, dst: _rebuilt(src, dst, card=lambda c: c["params"].update(evil=1)),
                          "parameters: model 'mf' has no parameter 'evil'"),
    "labels not strings": (lambda src, dst: _rebuilt(src, dst, card=lambda c: c["salespeople"].__setitem__(3, 7)),
                           "salesperson name at position 4 is 7, not a name"),
    "duplicate labels": (lambda src, dst: _rebuilt(src, dst, card=lambda c: c["clients"].__setitem__(2, " c1")),
                         "duplicate client name ' c1' at positions 2 and 3"),
    "learned not a number": (lambda src, dst: _rebuilt(src, dst, card=lambda c: c["learned"].update(mean="x")),
                             "learned mean is 'x', not a number"),
    "wrong shape": (lambda src, dst: _rebuilt(src, dst, arrays=lambda a: _set(a, "client_factors",
                                                                                a["client_factors"][:, :1])),
                    "client_factors.npy has shape \\(9, 1\\), not \\(9, 2\\)"),
    "missing array": (lambda src, dst: _rebuilt(src, dst, arrays=lambda a: a.pop("salesperson_offsets")),
                      "lacks arrays.npz/salesperson_offsets.npy"),
    "extra array": (lambda src, dst: _rebuilt(src, dst, arrays=lambda a: _set(a, "payload", np.zeros(3))),
                    "unexpected member 'arrays.npz/payload.npy'"),
    "text array": (lambda src, dst: _rebuilt(src, dst, arrays=lambda a: _set(a, "client_offsets",
                                                                               np.array(["a"] * 9))),
                   "client_offsets.npy holds <U1, not numbers"),
    "infinite factor": (lambda src, dst: _rebuilt(src, dst, arrays=lambda a: a["client_factors"].__setitem__(
        (0, 0), np.inf)), "client_factors.npy holds a value that is not a finite number"),
    "cell outside": (lambda src, dst: _rebuilt(src, dst, arrays=lambda a: a["known_rows"].__setitem__(-1, 12)),
                     "position is outside the 12 x 9 matrix"),
    "cells repeated": (lambda src, dst: _rebuilt(src, dst, arrays=lambda a: a["known_cols"].__setitem__(
        1, a["known_cols"][0])), "repeated or out of order"),
    "changed data": (lambda src, dst: _rebuilt(src, dst, arrays=lambda a: a["known_values"].__setitem__(0, 1.0)),
                     "do not match its fingerprint \\(the file was changed\\)"),
    "huge matrix": (lambda src, dst: _rebuilt(src, dst, card=lambda c: c.update(
        salespeople=[f"s{i}" for i in range(200_000)], clients=[f"c{j}" for j in range(20_000)])),
        "200,000 x 20,000 cells, more than a model file may have"),
}


def _members(src):
    with zipfile.ZipFile(src) as z:
        return [(name, z.read(name)) for name in z.namelist()]


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_model_file_is_refused_in_one_line_within_a_second(case, mf_file, tmp_path):
    make, match = HOSTILE[case]
    _refused(make(mf_file, tmp_path / "hostile.xlrec"), match)


def test_an_oversized_member_is_refused_by_its_declared_size(mf_file, tmp_path):
    card, arrays = _parts(mf_file)
    card["padding"] = " " * (2 << 20)
    path = _write(tmp_path / "big.xlrec", [("model.json", json.dumps(card)), ("arrays.npz", _npz(arrays))])
    _refused(path, "model.json is 2,0\\d\\d,\\d\\d\\d bytes, more than its limit \\(1,048,576\\)",
             Limits(json_bytes=1 << 20))


def test_a_zip_bomb_is_refused(tmp_path):
    # 128 MB of zeros, deflated to about 128 KB: refused by its declared size before it is inflated
    bomb = tmp_path / "bomb.xlrec"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("model.json", "w", force_zip64=True) as f:
            zeros = b"0" * (1 << 24)
            for _ in range(8):
                f.write(zeros)
        z.writestr("arrays.npz", b"")
    _refused(bomb, "model.json is 134,217,728 bytes, more than its limit")


def test_a_zip_bomb_that_lies_about_its_size_is_stopped(mf_file, tmp_path):
    # the central directory says model.json is 100 bytes; it inflates to 64 MB: reading stops at 100
    path = tmp_path / "liar.xlrec"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("model.json", b" " * (64 << 20))
        z.writestr("arrays.npz", _members(mf_file)[1][1])
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")  # its entry in the central directory, the first
    struct.pack_into("<I", data, at + 24, 100)  # uncompressed size
    path.write_bytes(bytes(data))
    _refused(path, "damaged")


def test_a_file_that_is_too_large_is_not_opened(mf_file):
    _refused(mf_file, "bytes, more than a model file may have \\(100\\)", Limits(file_bytes=100))


def test_a_missing_file(tmp_path):
    _refused(tmp_path / "nope.xlrec", "no such file")
