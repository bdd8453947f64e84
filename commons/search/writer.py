"""The writer of a full rebuild: Whoosh's segment writer with postings grouped in memory.

Whoosh's ``PostingPool`` keeps every posting as a tuple, spills runs of them to
disk one ``pickle.dump`` at a time when it passes ``limitmb``, sorts, and merges
the runs back; writing each posting then reads the document's field length back
from the segment's column file. Here the postings of one term are gathered in
memory as they come (documents are added in order, so each term's postings are
already sorted), only the terms are sorted, and the field lengths are read once
per field. The segment written is the same. Past ``limitmb`` the gathered
postings are written out as one of Whoosh's sorted runs, so memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from whoosh.codec.whoosh3 import W3FieldWriter
from whoosh.writing import PostingPool, SegmentWriter

Posting = tuple[str, bytes, int, float, bytes | None]
_POSTING_BYTES = 40  # a posting's share of memory here, besides its value bytes (three list slots, a shared int)


class GroupedPool(PostingPool):  # type: ignore[misc]
    """A posting pool that groups postings by term in memory (see the module docstring)."""

    def __init__(self, tempstore: Any, segment: Any, limitmb: int = 512) -> None:
        super().__init__(tempstore, segment, limitmb=limitmb)
        self.terms: dict[tuple[str, bytes], tuple[list[int], list[float], list[bytes | None]]] = {}
        self._weights: dict[float, float] = {}  # equal weights and small values: one object each
        self._values: dict[bytes, bytes] = {}

    def add(self, item: Posting) -> None:
        fieldname, tbytes, docnum, weight, vbytes = item
        self.add_field(fieldname, docnum, [(tbytes, 0, weight, vbytes)], 1.0)

    def add_field(self, fieldname: str, docnum: int, items: Iterable[tuple[bytes, int, float, bytes | None]],
                  boost: float) -> int:
        """Add one document's postings of one field (``field.index()``); return the sum of frequencies."""
        terms, weights, values = self.terms, self._weights, self._values
        length = size = 0
        for tbytes, freq, weight, vbytes in items:
            weight *= boost
            length += freq
            postings = terms.get((fieldname, tbytes))
            if postings is None:
                postings = terms[(fieldname, tbytes)] = ([], [], [])
            postings[0].append(docnum)
            postings[1].append(weights.setdefault(weight, weight))
            if vbytes is not None:
                size += len(vbytes)
                if len(vbytes) <= 4:
                    vbytes = values.setdefault(vbytes, vbytes)
            postings[2].append(vbytes)
            size += _POSTING_BYTES
        self.fieldnames.add(fieldname)
        self.currentsize += size
        if self.currentsize > self.limit:
            self.save()
        return length

    def _grouped(self) -> Iterator[Posting]:
        for key in sorted(self.terms):
            fieldname, tbytes = key
            docnums, weights, values = self.terms[key]
            for i, docnum in enumerate(docnums):
                yield fieldname, tbytes, docnum, weights[i], values[i]

    def save(self) -> None:
        if self.terms:
            path, f = self._new_run()
            self._write_run(f, self._grouped())
            self._add_run(path)
            self.terms, self._weights, self._values = {}, {}, {}
        self.currentsize = 0

    def items(self, maxfiles: int = 128) -> Any:
        if not self.runs:
            return self._grouped()
        return super().items(maxfiles)


class _Lengths:
    """Field lengths of the new segment, read once per field instead of once per posting."""

    def __init__(self, reader: Any, doc_count: int) -> None:
        self.reader = reader
        self.doc_count = doc_count
        self.fields: dict[str, list[int]] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int:
        return self.of_field(fieldname)[docnum]

    def of_field(self, fieldname: str) -> list[int]:
        """The length of ``fieldname`` in each document (0 where it has none)."""
        lengths = self.fields.get(fieldname)
        if lengths is None:
            lengths = self.fields[fieldname] = [self.reader.doc_field_length(d, fieldname, 0)
                                                for d in range(self.doc_count)]
        return lengths


class RebuildWriter(SegmentWriter):  # type: ignore[misc]
    """A segment writer for ``SearchIndex`` rebuilds (many documents at once)."""

    def __init__(self, ix: Any, limitmb: int = 512, **kwargs: Any) -> None:
        super().__init__(ix, limitmb=limitmb, **kwargs)
        self.pool = GroupedPool(self._tempstorage, self.newsegment, limitmb=limitmb)
        fields = [self.schema[name] for name in self.schema.names()]
        self._plain = not any(f.separate_spelling() or f.vector for f in fields)

    def add_document(self, **fields: Any) -> None:
        """``SegmentWriter.add_document``, each field's postings handed to the pool at once."""
        if not self._plain:  # term vectors or spelling words: Whoosh's own loop
            super().add_document(**fields)
            return
        self._check_state()
        names = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(self.schema, names)
        self.perdocwriter.start_doc(self.docnum)
        try:
            boost = self._doc_boost(fields)
            for name in names:
                if fields[name] is not None:
                    self._add_field(name, fields, boost)
        except Exception:
            self.perdocwriter.cancel_doc()
            raise
        self.perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1

    def _add_field(self, name: str, fields: dict[str, Any], doc_boost: float) -> None:
        field, value = self.schema[name], fields[name]
        length = 0
        if field.indexed:
            boost = self._field_boost(fields, name, doc_boost)
            found = self.pool.add_field(name, self.docnum, field.index(value), boost)
            length = found if field.scorable else 0
        stored = fields.get(f"_stored_{name}", value)
        self.perdocwriter.add_field(name, field, stored if field.stored else None, length)
        if field.column_type and stored is not None:
            self.perdocwriter.add_column_value(name, field.column_type, field.to_column_value(stored))

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        reader = self.per_document_reader() if self.codec.length_stats else None
        lengths = _Lengths(reader, self.docnum - self.docbase) if reader is not None else None
        if lengths is not None and not self.pool.runs and type(self.fieldwriter) is W3FieldWriter:
            self._write_terms(lengths)
        else:
            self.fieldwriter.add_postings(self.schema, lengths, self.pool.iter_postings())
        self.fieldwriter.close()
        if reader is not None:
            reader.close()

    def _write_terms(self, lengths: _Lengths) -> None:
        """What ``FieldWriter.add_postings`` writes, a term's postings at a time instead of one by one."""
        writer, terms = self.fieldwriter, self.pool.terms
        field = None
        for fieldname, tbytes in sorted(terms):
            if fieldname != field:
                if field is not None:
                    writer.finish_field()
                writer.start_field(fieldname, self.schema[fieldname])
                field, field_lengths = fieldname, lengths.of_field(fieldname)
            writer.start_term(tbytes)
            docnums, weights, values = terms[(fieldname, tbytes)]
            _add_block_postings(writer._postwriter, docnums, weights, values, field_lengths)
            writer.finish_term()
        if field is not None:
            writer.finish_field()


def _add_block_postings(postings: Any, docnums: list[int], weights: list[float], values: list[bytes | None],
                        lengths: list[int]) -> None:
    """``W3PostingsWriter.add_posting`` for each posting of a term, a block (128 postings) at a time."""
    limit, at, count = postings._blocklimit, 0, len(docnums)
    while at < count:
        if len(postings._ids) >= limit:
            postings._write_block()
        end = min(count, at + limit - len(postings._ids))
        ids, block_weights = docnums[at:end], weights[at:end]
        postings._ids.extend(ids)
        postings._weights.extend(block_weights)
        postings._values.extend(v for v in values[at:end] if v)
        postings._maxweight = max(postings._maxweight, *block_weights)
        known = [n for n in (lengths[d] for d in ids) if n]
        if known:
            low = min(known)
            postings._minlength = low if postings._minlength is None else min(postings._minlength, low)
            postings._maxlength = max(postings._maxlength, *known)
        at = end

