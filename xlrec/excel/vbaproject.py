"""A VBA module's source, read and extended in an add-in's ``vbaProject.bin``: what the add-in's second ribbon
button needs (xlwings' ribbon template has one VBA entry, ``RunMain``, and a ribbon button can only call a VBA
procedure of its own add-in).

A ``vbaProject.bin`` is a compound file ([MS-CFB]) holding a VBA project ([MS-OVBA]): a ``VBA/dir`` stream
(compressed) names each module's stream and the offset of its compressed source in it; before that offset
lies the module's compiled p-code. Only the source is changed here, and the p-code before it is kept as it
is: the template's ``VBA/_VBA_PROJECT`` stream has version 0xFFFF, which tells Excel its compiled code
matches no VBA version, so Excel compiles every module from its source when it opens the add-in (as it does
for the template's ``xlwings`` module, whose source xlwings replaced the same way). A project with compiled
code Excel could run instead is refused: there the new source would be ignored.

No maintained library writes a compound file whose streams change size (olefile rewrites streams of the same
size only), so :func:`write_compound` does, after [MS-CFB] version 3: 512-byte sectors, streams under 4,096
bytes in the 64-byte mini stream, a balanced red-black tree of the names of each storage.
"""

from __future__ import annotations

import struct

from ..exceptions import XlrecError

__all__ = ["append_to_module", "compress", "decompress", "module_source", "read_compound", "write_compound"]

_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
_FREE, _END, _FATSECT, _DIFSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFC
_NOSTREAM = 0xFFFFFFFF
_SECTOR, _MINI, _CUTOFF = 512, 64, 4096
_STORAGE, _STREAM, _ROOT = 1, 2, 5


# -- [MS-OVBA] 2.4.1: the compression of the dir stream and the modules' source ----------------------------------

def _copy_token_bits(done: int) -> int:
    """Bits of a copy token's offset when ``done`` bytes of the chunk are decompressed (at least 4)."""
    return max((done - 1).bit_length(), 4)


def decompress(data: bytes) -> bytes:
    """The bytes of a CompressedContainer."""
    if not data or data[0] != 1:
        raise XlrecError("vbaProject.bin: a compressed VBA stream does not start with its signature byte")
    out = bytearray()
    pos = 1
    while pos < len(data):
        header = struct.unpack_from("<H", data, pos)[0]
        size = (header & 0x0FFF) + 3
        end = min(pos + size, len(data))
        pos += 2
        start = len(out)
        if not header & 0x8000:  # a raw chunk: 4,096 bytes as they are
            out += data[pos:pos + 4096]
            pos += 4096
            continue
        while pos < end:
            flags = data[pos]
            pos += 1
            for bit in range(8):
                if pos >= end:
                    break
                if not flags >> bit & 1:
                    out.append(data[pos])
                    pos += 1
                    continue
                token = struct.unpack_from("<H", data, pos)[0]
                pos += 2
                bits = _copy_token_bits(len(out) - start)
                length = (token & (0xFFFF >> bits)) + 3
                offset = (token >> (16 - bits)) + 1
                for _ in range(length):  # byte by byte: a copy may overlap what it writes
                    out.append(out[-offset])
    return bytes(out)


def _compress_chunk(chunk: bytes) -> bytes:
    """One chunk (up to 4,096 bytes), with its header: copy tokens for the longest earlier match of 3 bytes
    or more (the most recent on a tie), literals elsewhere; a raw chunk when that is not smaller."""
    out = bytearray()
    seen: dict[bytes, list[int]] = {}
    pos, n = 0, len(chunk)
    while pos < n:
        flag_at, flags = len(out), 0
        out.append(0)
        for bit in range(8):
            if pos >= n:
                break
            best_len = best_off = 0
            if pos:
                bits = _copy_token_bits(pos)
                longest = min((0xFFFF >> bits) + 3, n - pos)
                for cand in reversed(seen.get(chunk[pos:pos + 3], ())):
                    k = 0
                    while k < longest and chunk[cand + k] == chunk[pos + k]:
                        k += 1
                    if k > best_len:
                        best_len, best_off = k, pos - cand
                        if k == longest:
                            break
            step = best_len if best_len >= 3 else 1
            if best_len >= 3:
                out += struct.pack("<H", ((best_off - 1) << (16 - bits)) | (best_len - 3))
                flags |= 1 << bit
            else:
                out.append(chunk[pos])
            for p in range(pos, pos + step):
                seen.setdefault(chunk[p:p + 3], []).append(p)
            pos += step
        out[flag_at] = flags
    if len(out) > 4096:
        return struct.pack("<H", 0x3FFF) + chunk.ljust(4096, b"\0")
    return struct.pack("<H", 0xB000 | (len(out) - 1)) + bytes(out)  # size - 3, with the 2 header bytes


def compress(data: bytes) -> bytes:
    """A CompressedContainer of ``data``."""
    return b"\x01" + b"".join(_compress_chunk(data[k:k + 4096]) for k in range(0, len(data), 4096))


# -- [MS-CFB]: the compound file -------------------------------------------------------------------------------

def read_compound(data: bytes) -> tuple[dict, bytes]:
    """({path: bytes} of every stream, with a path "VBA/dir"; storages map to None) and the root's CLSID."""
    if data[:8] != _MAGIC:
        raise XlrecError("vbaProject.bin is not a compound file")
    shift, mini_shift = struct.unpack_from("<HH", data, 30)
    size, mini = 1 << shift, 1 << mini_shift
    n_fat, first_dir = struct.unpack_from("<II", data, 44)
    cutoff, first_minifat, _, first_difat, n_difat = struct.unpack_from("<IIIII", data, 56)

    def sector(k):
        return data[(k + 1) * size:(k + 2) * size]

    fat_sectors = list(struct.unpack_from("<109I", data, 76))
    k = first_difat
    for _ in range(n_difat):
        entries = struct.unpack(f"<{size // 4}I", sector(k))
        fat_sectors += entries[:-1]
        k = entries[-1]
    fat = []
    for k in fat_sectors[:n_fat]:
        fat += struct.unpack(f"<{size // 4}I", sector(k))

    def chain(first, table):
        out, k = [], first
        while k not in (_END, _FREE) and len(out) <= len(table):
            out.append(k)
            k = table[k]
        return out

    def read(first, length=None):
        blob = b"".join(sector(k) for k in chain(first, fat))
        return blob if length is None else blob[:length]

    directory = read(first_dir)
    minifat_blob = read(first_minifat) if first_minifat != _END else b""
    minifat = list(struct.unpack(f"<{len(minifat_blob) // 4}I", minifat_blob))
    entries = []
    for off in range(0, len(directory), 128):
        raw = directory[off:off + 128]
        name_len, kind, _, left, right, child = struct.unpack_from("<HBBIII", raw, 64)
        start, length = struct.unpack_from("<IQ", raw, 116)
        entries.append((raw[:max(name_len - 2, 0)].decode("utf-16-le"), kind, left, right, child, raw[80:96],
                        start, length & 0xFFFFFFFF))
    root = entries[0]
    ministream = read(root[6], root[7])
    streams: dict = {}

    def walk(sid, prefix, depth=0):
        if sid == _NOSTREAM or depth > 64:
            return
        name, kind, left, right, child, _, start, length = entries[sid]
        walk(left, prefix, depth + 1)
        walk(right, prefix, depth + 1)
        path = prefix + name
        if kind == _STORAGE:
            streams[path] = None
            walk(child, path + "/", depth + 1)
        elif kind == _STREAM:
            if length < cutoff:
                streams[path] = b"".join(ministream[k * mini:(k + 1) * mini] for k in chain(start, minifat))[:length]
            else:
                streams[path] = read(start, length)

    walk(root[4], "")
    return streams, root[5]


def _tree(names: list) -> tuple[int, dict]:
    """(root, {name: (left, right, red)}) of a balanced red-black tree of ``names`` in [MS-CFB]'s order (shorter
    names first, then by upper case): split at the middle, and the nodes below the last full level red."""
    order = sorted(names, key=lambda s: (len(s), s.upper()))
    full = (len(order) + 1).bit_length() - 1  # levels 0 .. full - 1 are full
    nodes: dict = {}

    def build(lo, hi, depth):
        if lo >= hi:
            return None
        mid = (lo + hi) // 2
        nodes[order[mid]] = (build(lo, mid, depth + 1), build(mid + 1, hi, depth + 1), depth >= full)
        return order[mid]

    return build(0, len(order), 0), nodes


def write_compound(streams: dict, root_clsid: bytes = bytes(16)) -> bytes:
    """A compound file (version 3) holding ``streams`` ({path: bytes}; a storage is made for each folder of a
    path, or given as {path: None})."""
    kids: dict = {"": []}
    kinds: dict = {}
    for path, blob in streams.items():
        parts = path.split("/")
        for k in range(1, len(parts) + 1):
            sub = "/".join(parts[:k])
            if sub not in kinds:
                kinds[sub] = _STREAM if (k == len(parts) and blob is not None) else _STORAGE
                kids.setdefault("/".join(parts[:k - 1]), []).append(parts[k - 1])
                if kinds[sub] == _STORAGE:
                    kids.setdefault(sub, [])
    order = [""] + list(kinds)  # SID of each path: the root is 0
    sid = {p: k for k, p in enumerate(order)}

    sectors: list[bytes] = []
    fat: list[int] = []

    def put(blob) -> int:
        if not blob:
            return _END
        first = len(sectors)
        count = -(-len(blob) // _SECTOR)
        for k in range(count):
            sectors.append(blob[k * _SECTOR:(k + 1) * _SECTOR].ljust(_SECTOR, b"\0"))
            fat.append(first + k + 1 if k < count - 1 else _END)
        return first

    ministream, minifat, placed = bytearray(), [], {}
    for path in order[1:]:
        blob = streams.get(path)
        if kinds[path] != _STREAM:
            continue
        if len(blob) < _CUTOFF:
            first, count = len(ministream) // _MINI, -(-len(blob) // _MINI)
            ministream += blob.ljust(count * _MINI, b"\0")
            minifat += [first + k + 1 if k < count - 1 else _END for k in range(count)]
            placed[path] = first if blob else _END
        else:
            placed[path] = put(blob)
    root_start = put(bytes(ministream))
    minifat_blob = struct.pack(f"<{len(minifat)}I", *minifat) if minifat else b""
    minifat_start = put(minifat_blob)

    entries = []
    for path in order:
        name = path.rsplit("/", 1)[-1] if path else "Root Entry"
        kind = _ROOT if not path else kinds[path]
        left = right = child = _NOSTREAM
        red = False
        if kind != _STREAM:
            top, _ = _tree(kids[path])
            child = _NOSTREAM if top is None else sid[(path + "/" if path else "") + top]
        parent = path.rsplit("/", 1)[0] if "/" in path else ""
        if path:
            _, nodes = _tree(kids[parent])
            lnode, rnode, red = nodes[name]
            prefix = parent + "/" if parent else ""
            left = _NOSTREAM if lnode is None else sid[prefix + lnode]
            right = _NOSTREAM if rnode is None else sid[prefix + rnode]
        if kind == _ROOT:
            start, length, clsid = root_start, len(ministream), root_clsid
        elif kind == _STREAM:
            start, length, clsid = placed[path], len(streams[path]), bytes(16)
        else:
            start, length, clsid = 0, 0, bytes(16)
        encoded = name.encode("utf-16-le")
        if len(encoded) > 62:
            raise XlrecError(f"vbaProject.bin: the name {name!r} is longer than 31 characters")
        entries.append(encoded.ljust(64, b"\0") + struct.pack("<HBBIII", len(encoded) + 2, kind, 0 if red else 1,
                                                              left, right, child)
                       + clsid + bytes(4 + 16) + struct.pack("<IQ", start, length))
    while len(entries) % (_SECTOR // 128):
        entries.append(bytes(64) + struct.pack("<HBBIII", 0, 0, 0, _NOSTREAM, _NOSTREAM, _NOSTREAM) + bytes(48))
    dir_start = put(b"".join(entries))

    n_fat = 0
    while n_fat * (_SECTOR // 4) < len(sectors) + n_fat:
        n_fat += 1
    if n_fat > 109:
        raise XlrecError("vbaProject.bin: too large for this writer (over 109 FAT sectors)")
    fat_first = len(sectors)
    fat += [_FATSECT] * n_fat
    fat += [_FREE] * (n_fat * (_SECTOR // 4) - len(fat))
    fat_blob = struct.pack(f"<{len(fat)}I", *fat)
    difat = list(range(fat_first, fat_first + n_fat)) + [_FREE] * (109 - n_fat)
    header = (_MAGIC + bytes(16) + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + bytes(6)
              + struct.pack("<IIII", 0, n_fat, dir_start, 0)
              + struct.pack("<IIIII", _CUTOFF, minifat_start, -(-len(minifat_blob) // _SECTOR), _END, 0)
              + struct.pack("<109I", *difat))
    return header + b"".join(sectors) + fat_blob


# -- [MS-OVBA]: the modules of a VBA project ---------------------------------------------------------------------

def _module_offsets(dir_stream: bytes) -> dict:
    """{module stream name: offset of its compressed source in the stream} from the decompressed dir stream."""
    out, pos, stream = {}, 0, None
    while pos + 6 <= len(dir_stream):
        rid, size = struct.unpack_from("<HI", dir_stream, pos)
        if rid == 0x0009:  # PROJECTVERSION: its size field says 4, its data is 6 bytes
            size = 6
        data = dir_stream[pos + 6:pos + 6 + size]
        if rid == 0x001A:  # MODULESTREAMNAME
            stream = data.decode("latin-1")
        elif rid == 0x0031 and stream is not None:  # MODULEOFFSET
            out[stream] = struct.unpack("<I", data)[0]
        pos += 6 + size
    return out


def _locate(streams: dict, module: str) -> tuple[str, int]:
    offsets = _module_offsets(decompress(streams["VBA/dir"]))
    if module not in offsets or f"VBA/{module}" not in streams:
        raise XlrecError(f"vbaProject.bin has no VBA module {module!r} (it has {', '.join(sorted(offsets))})")
    return f"VBA/{module}", offsets[module]


def module_source(vba_project: bytes, module: str) -> str:
    """The source text of ``module`` in the ``vbaProject.bin`` bytes ``vba_project`` (lines end in CR LF)."""
    streams, _ = read_compound(vba_project)
    path, offset = _locate(streams, module)
    return decompress(streams[path][offset:]).decode("cp1252")


def append_to_module(vba_project: bytes, module: str, code: str) -> bytes:
    """``vba_project`` with ``code`` (VBA, lines separated by newlines) added at the end of ``module``."""
    streams, clsid = read_compound(vba_project)
    version = streams.get("VBA/_VBA_PROJECT", b"")
    if version[2:4] != b"\xff\xff":
        raise XlrecError("vbaProject.bin holds compiled code Excel would run instead of the source: its module "
                         "cannot be extended")
    path, offset = _locate(streams, module)
    source = decompress(streams[path][offset:]).decode("cp1252")
    source = source.rstrip("\r\n") + "\r\n\r\n" + code.strip("\n").replace("\r\n", "\n").replace("\n", "\r\n") + "\r\n"
    streams = dict(streams)
    streams[path] = streams[path][:offset] + compress(source.encode("cp1252"))
    return write_compound(streams, clsid)
