"""Posting blocks as raw arrays: Whoosh's W3 codec with another encoding of each block's data.

Whoosh pickles each block of up to 128 postings as a tuple of Python ints,
floats and byte strings, then compresses it: reading one back costs ~0.3 µs a
posting, which the array scorer (commons/search/scoring.py) paid for every
posting of every query word -- most of a query's time at 100,000 pages. Here a
block's data is little-endian arrays (document number gaps in 1, 2 or 4 bytes;
weights as bytes, shorts or 32-bit floats, which is what Whoosh keeps; values
concatenated with their lengths), read back with ``numpy.frombuffer``. Blocks
hold 1,024 postings. The block headers, term index and every other file are
Whoosh's own, and the matcher gives Whoosh's matchers the same ids, weights and
values as before, so merges, phrase checks and all of Whoosh's queries work
unchanged (tests compare every posting with Whoosh's own codec).
"""

from __future__ import annotations

import struct
import zlib
from array import array
from dataclasses import dataclass
from operator import sub
from pickle import dumps  # noqa: S403 - only to write the block header Whoosh's reader expects
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3Codec, W3LeafMatcher, W3PostingsWriter
from whoosh.formats import Frequency
from whoosh.util.numeric import length_to_byte

from commons.search.analysis import PairPositions

BLOCK_POSTINGS = 1024
SMALL_BLOCK = 32  # postings: a block this small is encoded without numpy
PLAIN_FORMATS = (Frequency, PairPositions)  # read by the array scorer: blocks left uncompressed
_HEAD = struct.Struct("<BBBxI")  # id width, weights kind, values kind, (pad), postings
_ID_TYPES = {1: "<u1", 2: "<u2", 4: "<u4"}
_CODES = {1: "B", 2: "H", 4: "I"}  # struct codes of the same widths
W_ONES, W_SAME, W_BYTES, W_SHORTS, W_FLOATS = range(5)
_W_TYPES = {W_BYTES: "<u1", W_SHORTS: "<u2", W_FLOATS: "<f4"}
_W_CODES = {W_BYTES: "B", W_SHORTS: "H", W_FLOATS: "f"}
V_NONE, V_FIXED, V_SIZED = range(3)
Array = Any  # numpy arrays


@dataclass(frozen=True)
class Values:
    """The values of a run of postings: their sizes in bytes, and all of them end to end."""

    sizes: Array
    blob: bytes

    def split(self) -> tuple[bytes, ...]:
        ends = np.cumsum(self.sizes).tolist()
        return tuple(self.blob[a:b] for a, b in zip([0, *ends], ends, strict=False))


def encode_block(ids: array, weights: array, values: list[bytes], fixedsize: int | None) -> bytes:
    """One block's data: the postings' document numbers, weights and values as arrays."""
    count = len(ids)
    parts = [b""]
    width, wkind = (_small if count <= SMALL_BLOCK else _large)(ids, weights, parts)
    if fixedsize == 0 or not values:
        vkind = V_NONE
    elif fixedsize is not None and fixedsize > 0:
        vkind = V_FIXED
        parts.append(b"".join(values))
    else:
        vkind = V_SIZED
        parts.append(struct.pack(f"<{len(values)}I", *map(len, values)))
        parts.append(b"".join(values))
    parts[0] = _HEAD.pack(width, wkind, vkind, count)
    return b"".join(parts)


def _small(ids: array, weights: array, parts: list[bytes]) -> tuple[int, int]:
    """Gaps and weights of a small block with ``struct`` (most blocks a save writes hold one posting)."""
    numbers, found = ids.tolist(), weights.tolist()
    gaps = [numbers[0], *map(sub, numbers[1:], numbers[:-1])]
    count, top = len(gaps), max(gaps)
    width = 1 if top < 256 else 2 if top < 65536 else 4
    parts.append(struct.pack(f"<{count}{_CODES[width]}", *gaps))
    if found.count(1.0) == count:
        return width, W_ONES
    if found.count(found[0]) == count:
        parts.append(struct.pack("<f", found[0]))
        return width, W_SAME
    whole = min(found) >= 0 and all(w.is_integer() for w in found)
    wkind = W_BYTES if whole and max(found) < 256 else W_SHORTS if whole and max(found) < 65536 else W_FLOATS
    parts.append(struct.pack(f"<{count}{_W_CODES[wkind]}", *(map(int, found) if whole else found)))
    return width, wkind


def _large(ids: array, weights: array, parts: list[bytes]) -> tuple[int, int]:
    """The same with numpy, for the full blocks of a rebuild or a merge."""
    gaps = np.diff(np.frombuffer(ids, dtype=np.uint32).astype(np.int64), prepend=0)
    width = 1 if gaps.max() < 256 else 2 if gaps.max() < 65536 else 4
    parts.append(gaps.astype(_ID_TYPES[width]).tobytes())
    found = np.frombuffer(weights, dtype=np.float32)
    if (found == 1.0).all():
        return width, W_ONES
    if (found == found[0]).all():
        parts.append(found[:1].astype("<f4").tobytes())
        return width, W_SAME
    whole = bool((found == np.round(found)).all() and found.min() >= 0)
    wkind = W_BYTES if whole and found.max() < 256 else W_SHORTS if whole and found.max() < 65536 else W_FLOATS
    parts.append(found.astype(_W_TYPES[wkind]).tobytes())
    return width, wkind


def decode_block(data: bytes) -> tuple[Array, Array | float | None, bytes | Values | None]:
    """(document number gaps, weights: ``None`` for all 1, one float for all alike, or an array; values)."""
    width, wkind, vkind, count = _HEAD.unpack_from(data)
    at = _HEAD.size
    gaps = np.frombuffer(data, dtype=_ID_TYPES[width], count=count, offset=at)
    at += width * count
    weights: Array | float | None = None
    if wkind == W_SAME:
        weights = float(np.frombuffer(data, dtype="<f4", count=1, offset=at)[0])
        at += 4
    elif wkind != W_ONES:
        weights = np.frombuffer(data, dtype=_W_TYPES[wkind], count=count, offset=at)
        at += weights.itemsize * count  # type: ignore[union-attr]
    values: bytes | Values | None = None
    if vkind == V_FIXED:
        values = data[at:]
    elif vkind == V_SIZED:
        sizes = np.frombuffer(data, dtype="<u4", count=count, offset=at)
        values = Values(sizes, data[at + 4 * count:])
    return gaps, weights, values


class ArrayPostingsWriter(W3PostingsWriter):  # type: ignore[misc]
    """Whoosh's postings writer with :func:`encode_block` blocks (see the module docstring)."""

    def _write_block(self, last: bool = False) -> None:
        if self._byteids:  # term vectors (not in our schema): Whoosh's own blocks
            super()._write_block(last)
            return
        if not self._blockcount:
            self._postfile.write(WHOOSH3_HEADER_MAGIC)
        self._terminfo.add_block(self)
        data = encode_block(self._ids, self._weights, self._values, self._format.fixed_value_size())
        comp = 0 if type(self._format) in PLAIN_FORMATS else self._compression
        if comp:
            data = zlib.compress(data, comp)
        info = dumps((len(self._ids), self._ids[-1], self._maxweight, comp, length_to_byte(self._minlength),
                      length_to_byte(self._maxlength)), 2)
        size = len(info) + len(data)
        self._postfile.write_int(-size if last else size)
        self._postfile.write(info)
        self._postfile.write(data)
        self._blockcount += 1
        self._new_block()


class ArrayLeafMatcher(W3LeafMatcher):  # type: ignore[misc]
    """Whoosh's block matcher reading :func:`encode_block` blocks; ids, weights and values as Whoosh's."""

    def _read_data(self) -> None:
        data = self._postfile.get(self._dataoffset, self._nextoffset - self._dataoffset)
        self._data = decode_block(zlib.decompress(data) if self._compression else bytes(data))

    def _read_ids(self) -> None:
        if self._data is None:
            self._read_data()
        self._ids = np.cumsum(self._data[0], dtype=np.int64).tolist()

    def _read_weights(self) -> None:
        if self._data is None:
            self._read_data()
        weights = self._data[1]
        if weights is None or isinstance(weights, float):
            self._weights = [1.0 if weights is None else weights] * self._blocklength
        else:
            self._weights = weights.astype(np.float64).tolist()

    def _read_values(self) -> None:
        if self._data is None:
            self._read_data()
        values = self._data[2]
        if isinstance(values, Values):
            self._values = values.split()
        elif values is None:
            self._values = (None,) * self._blocklength
        else:
            size = self._fixedsize
            self._values = tuple(values[i:i + size] for i in range(0, len(values), size))


class ArrayCodec(W3Codec):  # type: ignore[misc]
    """Whoosh's W3 codec with :class:`ArrayPostingsWriter` blocks of ``BLOCK_POSTINGS`` postings."""

    def __init__(self, blocklimit: int = BLOCK_POSTINGS, compression: int = 3, inlinelimit: int = 1) -> None:
        super().__init__(blocklimit=blocklimit, compression=compression, inlinelimit=inlinelimit)

    def postings_writer(self, dbfile: object, byteids: bool = False) -> ArrayPostingsWriter:
        return ArrayPostingsWriter(dbfile, blocklimit=self._blocklimit, byteids=byteids,
                                   compression=self._compression, inlinelimit=self._inlinelimit)

    def postings_reader(self, dbfile: object, terminfo: object, format_: object, term: object = None,
                        scorer: object = None) -> object:
        if terminfo.is_inlined():  # type: ignore[attr-defined]
            return super().postings_reader(dbfile, terminfo, format_, term=term, scorer=scorer)
        offset, length = terminfo.extent()  # type: ignore[attr-defined]
        return ArrayLeafMatcher(dbfile, offset, length, format_, term=term, scorer=scorer)

