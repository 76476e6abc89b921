"""The VBA project writer under the add-in: the compression round-trips (a property test), the compound file
holds what it was given, its directory trees are red-black trees, and the template reads back unchanged."""

import struct
import zipfile

from hypothesis import given, settings
from hypothesis import strategies as st

from xlrec.excel.addin import template_path
from xlrec.excel.vbaproject import (
    _tree,
    compress,
    decompress,
    read_compound,
    write_compound,
)

TEXT = st.text(alphabet="Sub End RunPython()&\"\r\n .", max_size=9000).map(str.encode)


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.binary(max_size=9000), TEXT))
def test_compression_round_trips(data):
    packed = compress(data)
    assert decompress(packed) == data
    assert len(packed) <= 1 + len(data) + 2 * (len(data) // 4096 + 1) + len(data) // 8 + 1


def test_repetitive_source_is_compressed():
    source = b'    RunPython "import xlrec;xlrec.main()"\r\n' * 100
    assert len(compress(source)) < len(source) / 5


def _check_red_black(names):
    top, nodes = _tree(names)
    assert sorted(nodes) == sorted(names)

    def walk(name, lo, hi):  # black height; keys in (lo, hi) in [MS-CFB] order
        if name is None:
            return 1
        key = (len(name), name.upper())
        assert (lo is None or lo < key) and (hi is None or key < hi)
        left, right, red = nodes[name]
        if red:
            assert not any(nodes[c][2] for c in (left, right) if c is not None)
        hl, hr = walk(left, lo, key), walk(right, key, hi)
        assert hl == hr
        return hl + (not red)

    if top is not None:
        assert not nodes[top][2]
        walk(top, None, None)


def test_directory_trees_are_red_black():
    for n in range(40):
        _check_red_black([f"S{'x' * (k % 5)}{k}" for k in range(n)])


def test_the_template_reads_back_through_the_writer():
    with zipfile.ZipFile(template_path()) as z:
        original = z.read("xl/vbaProject.bin")
    streams, clsid = read_compound(original)
    written = write_compound(streams, clsid)
    assert read_compound(written) == (streams, clsid)
    assert written[:8] == original[:8] and len(written) % 512 == 0
    big = {"A/" + "s" * 20: bytes(range(256)) * 40, "B": b"x" * 100, "A/empty": b""}
    again, _ = read_compound(write_compound(big))
    assert again == {"A": None, **big}
    assert struct.unpack_from("<H", written, 26)[0] == 3  # version 3: 512-byte sectors
