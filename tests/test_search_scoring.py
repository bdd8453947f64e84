"""The array scorer ranks exactly as Whoosh's own matchers do, on a real index of several segments."""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from commons.pages import identity_for
from commons.search import scoring
from commons.search.analysis import make_schema
from commons.search.codec import ArrayCodec, ArrayLeafMatcher
from commons.search.phrases import with_pairs
from commons.search.query import FIELDS, PREFIX_FIELD, _ranked, parse, whoosh_rank
from commons.search.snippets import matcher_for
from commons.services import Commons

ALICE = identity_for("alice")
WORDS = ("logement social demande aide médiation numérique enfance protection données personnelles dépôt "
         "garantie pension alimentaire juge affaires familiales courrier recommandé accusé réception "
         "commission surendettement titre séjour droit visite plan redressement chèque énergie maison "
         "services revenu solidarité active département locataire bailleur loyer charges quittance").split()
STOPS = ("de", "la", "le", "les", "des", "l'", "d'", "et", "en", "un")


def _sentence(rng: random.Random, length: int) -> str:
    """French-like text: words of a small vocabulary (so that words and phrases are shared), stop words."""
    out: list[str] = []
    for _ in range(length):
        if rng.random() < 0.3:
            out.append(rng.choice(STOPS))
        out.append(rng.choice(WORDS[: rng.choice((8, 20, len(WORDS)))]))  # a few very common words
    return " ".join(out).replace("' ", "'")


def _document(rng: random.Random, i: int) -> dict[str, Any]:
    title = _sentence(rng, rng.randint(1, 4)).capitalize()
    headings = _sentence(rng, rng.randint(0, 6))
    body = ". ".join(_sentence(rng, rng.randint(3, 14)) for _ in range(rng.randint(1, 12)))
    text = f"{title}\n{body}"
    folder = rng.choice(("guides", "guides/logement", "fiches", "actualites/2024"))
    return {"path": f"{folder}/p{i}", "title": title, "title_exact": title, "headings": headings,
            "content": text, "freqs": text, "pairs": text, "body": body, "spell": text, "vocab": text,
            "tags": rng.choice(("rsa,aide", "logement", "", "enfance,protection")), "folder": folder,
            "updated": datetime(2024, 1, 1 + i % 28), "authors": "alice", "rev": f"r{i}"}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """5,200 pages in one segment (Whoosh's Or takes another path above 5,000 pages), then small
    segments of updates (their old versions deleted) and new pages, as saves leave them. The big
    segment in our array blocks, the small ones in Whoosh's own: the scorer reads both."""
    from whoosh import index as whoosh_index

    from commons.search.writer import RebuildWriter

    directory: Path = tmp_path_factory.mktemp("scoring")
    ix = whoosh_index.create_in(str(directory), make_schema())
    rng = random.Random(20261205)
    writer = RebuildWriter(ix, codec=ArrayCodec())
    for i in range(5200):
        writer.add_document(**_document(rng, i))
    writer.commit()
    for batch in range(6):
        writer = ix.writer(codec=ArrayCodec() if batch % 2 else None)
        for i in rng.sample(range(5200), 40) + list(range(5200 + batch * 30, 5230 + batch * 30)):
            writer.update_document(**_document(rng, i))
        writer.commit(merge=False)
    yield ix
    ix.close()


QUERIES = [
    "logement", "logement social", "aide médiation numérique", "revenu", "quittance loyer", "locataires",
    "logement OR enfance", "logement -social", "logement NOT demande", "aide ANDNOT logement",
    "+aide logement", "aide ANDMAYBE enfance", "titre:logement", "tag:rsa", "tag:logement aide",
    "dossier:fiches logement", "dossier:guides/logement demande", "log*", "lo*", "d*", "revenu*",
    "med* OR enfance", "aide -lo*", '"logement social"', '"demande de logement"', '"logement social demande"',
    '"pension alimentaire"', '"la demande de logement social"', '"juge aux affaires familiales"',
    '"courrier recommandé accusé réception"', 'aide "logement social"', '"aide sociale" OR enfance',
    'logement -"logement social"', "l'enfance", "Médiations numériques", "mediation", "zèbre",
    'titre:"logement social"', '"logement social"~2', "(logement OR enfance) aide",
]


def _random_queries(count: int) -> list[str]:
    rng = random.Random(7)
    made = []
    for _ in range(count):
        words = rng.sample(WORDS, rng.randint(1, 3))
        kind = rng.random()
        if kind < 0.3:
            made.append(" ".join(words))
        elif kind < 0.5:
            made.append('"' + " ".join(words + rng.sample(WORDS, rng.randint(0, 2))) + '"')
        elif kind < 0.65:
            made.append(" OR ".join(words))
        elif kind < 0.8:
            made.append(f"{words[0][:rng.randint(2, 4)]}* {' '.join(words[1:])}")
        else:
            made.append(f"{words[0]} -{rng.choice(WORDS)}")
    return made


def _ranked_query(searcher: Any, text: str) -> Any:
    query = parse(searcher.schema, text)
    return None if query is None else _ranked(searcher.schema, with_pairs(query),
                                              text, matcher_for(query, FIELDS, [PREFIX_FIELD]))


def _whoosh_without_exclusions(searcher: Any, text: str, limit: int) -> tuple[int, list[tuple[float, int]]]:
    """Whoosh's ranking, with the pages its AndNot lets through removed (see test_excluded_word_...)."""
    query = _ranked_query(searcher, text)
    total, ranked = whoosh_rank(searcher, query, 100_000)
    if "-" in text or "NOT" in text:
        allowed = {doc for _, doc in scoring.rank(searcher, query, 100_000)[1]}
        wrong = [doc for _, doc in ranked if doc not in allowed]
        assert len(wrong) <= len(list(searcher.leaf_searchers())), (text, wrong)  # one per segment at most
        ranked = [item for item in ranked if item[1] in allowed]
        total -= len(wrong)
    return total, ranked[:limit]


@pytest.mark.parametrize("text", QUERIES + _random_queries(60))
def test_array_scorer_ranks_as_whoosh(index: Any, text: str) -> None:
    """Same total, same pages in the same order, same scores (to rounding), for every kind of query."""
    with index.searcher() as searcher:
        query = _ranked_query(searcher, text)
        assert query is not None
        try:
            total, ranked = scoring.rank(searcher, query, 50)
        except scoring.Unsupported:
            assert "~" in text or "titre:\"" in text, f"{text!r} fell back to Whoosh"
            return
        expected_total, expected = _whoosh_without_exclusions(searcher, text, 50)
        assert total == expected_total
        assert [doc for _, doc in ranked] == [doc for _, doc in expected]
        assert [score for score, _ in ranked] == pytest.approx([score for score, _ in expected], rel=1e-9)


def test_the_index_exercises_every_path(index: Any) -> None:
    """The fixture really has a segment above 5,000 pages, small segments, deletions, prefix expansions."""
    with index.searcher() as searcher:
        sizes = sorted(leaf.doc_count_all() for leaf, _ in searcher.leaf_searchers())
        assert sizes[-1] > 5000 and sizes[0] < 5000 and len(sizes) >= 3
        assert any(leaf.reader().has_deletions() for leaf, _ in searcher.leaf_searchers())
        assert len(list(searcher.reader().expand_prefix("spell", "d"))) >= 3
        kinds = {type(leaf.reader().postings("freqs", b"log")).__name__ for leaf, _ in searcher.leaf_searchers()}
        assert {"ArrayLeafMatcher", "W3LeafMatcher"} <= kinds or {"ArrayLeafMatcher", "FilterMatcher"} <= kinds
        total, _ = scoring.rank(searcher, _ranked_query(searcher, "logement"), 10)
        assert 1000 < total < searcher.doc_count()


def test_unknown_query_parts_fall_back_to_whoosh(services: Commons) -> None:
    """A phrase in the title or with slop is scored by Whoosh's own matchers, and still found."""
    services.pages.save("guides/aide", "# Aide sociale au logement\n\nDemander une aide.\n", "", None, ALICE)
    services.pages.save("guides/autre", "# Sociale et aide\n\nAutre chose.\n", "", None, ALICE)
    assert [h.path for h in services.search.search('titre:"aide sociale"').hits] == ["guides/aide"]
    assert {h.path for h in services.search.search('"aide logement"~3').hits} == {"guides/aide"}


def test_excluded_word_never_shows_even_on_the_first_page_of_a_segment(services: Commons) -> None:
    """Whoosh's AndNot let through the first page of a segment that had the excluded word when the
    word's first page came before it; the array scorer excludes it."""
    services.pages.save("a/seulement-social", "# Note\n\nLe social.\n", "", None, ALICE)
    services.pages.save("b/les-deux", "# Fiche\n\nLogement social.\n", "", None, ALICE)
    services.pages.save("c/logement", "# Autre\n\nUn logement.\n", "", None, ALICE)
    services.reindex(workers=1)  # one segment, pages in path order
    assert services.search.segment_count() == 1
    with services.search._index().searcher() as searcher:  # the bug, as Whoosh has it
        found = whoosh_rank(searcher, _ranked_query(searcher, "logement -social"), 10)[1]
        assert len(found) == 2
    result = services.search.search("logement -social")
    assert [h.path for h in result.hits] == ["c/logement"] and result.total == 1


def test_three_word_phrase_needs_its_words_in_a_row(services: Commons) -> None:
    """« demande de logement » and « logement social » apart do not make « demande de logement social »."""
    services.pages.save("a/apart", "# A\n\nLa demande de logement est faite. Un logement social.\n", "", None, ALICE)
    services.pages.save("b/ensemble", "# B\n\nLa demande de logement social est faite.\n", "", None, ALICE)
    assert [h.path for h in services.search.search('"demande de logement social"').hits] == ["b/ensemble"]
    assert {h.path for h in services.search.search('"demande de logement"').hits} == {"a/apart", "b/ensemble"}
    assert {h.path for h in services.search.search('"logement social"').hits} == {"a/apart", "b/ensemble"}


def test_longer_phrase_needs_all_its_words_in_a_row(services: Commons) -> None:
    """Every triple of « juge aux affaires familiales urgentes » is in the first page, but not the phrase."""
    services.pages.save("a/apart", "# A\n\nLe juge aux affaires familiales. Des affaires familiales urgentes.\n", "",
                        None, ALICE)
    services.pages.save("b/ensemble", "# B\n\nLe juge aux affaires familiales urgentes.\n", "", None, ALICE)
    assert [h.path for h in services.search.search('"juge aux affaires familiales urgentes"').hits] == ["b/ensemble"]
    assert {h.path for h in services.search.search('"affaires familiales urgentes"').hits} == {"a/apart", "b/ensemble"}


def _all_postings(ix: Any) -> dict[tuple[str, bytes], list[tuple[Any, ...]]]:
    """Every posting as Whoosh's own matchers give it: id, weight, value, block statistics, positions."""
    found: dict[tuple[str, bytes], list[tuple[Any, ...]]] = {}
    with ix.reader() as reader:
        for fieldname, text in reader.all_terms():
            matcher, rows = reader.postings(fieldname, text), []
            positions = matcher.supports("positions")
            while matcher.is_active():
                rows.append((matcher.id(), matcher.weight(), matcher.value(), matcher.block_max_weight(),
                             matcher.block_max_id(), matcher.value_as("positions") if positions else None))
                matcher.next()
            found[(fieldname, text)] = rows
    return found


def test_array_blocks_give_whoosh_every_posting_as_its_own_blocks(tmp_path: Path) -> None:
    """Same ids, weights, values, positions and block statistics through Whoosh's matchers, for every
    term of every field, whether a term has one block or several, after a merge too."""
    from whoosh import index as whoosh_index

    built = []
    for name, codec in (("whoosh", None), ("arrays", ArrayCodec(blocklimit=128))):  # same blocks: same stats
        (tmp_path / name).mkdir()
        ix = whoosh_index.create_in(str(tmp_path / name), make_schema())
        rng = random.Random(3)
        for part in range(3):
            writer = ix.writer(codec=codec) if codec else ix.writer()
            for i in range(300):
                writer.update_document(**_document(rng, i if part else i + 1000))
            writer.commit(optimize=part == 2)  # the last save merges the segments into one
        assert len(ix._segments()) == 1
        with ix.reader() as reader:
            kinds = {type(getattr(m, "child", m)) for m in (reader.postings("freqs", b"log"),)}
        assert (ArrayLeafMatcher in kinds) == bool(codec)
        built.append(_all_postings(ix))
        ix.close()
    assert built[0] == built[1]
    assert max(len(rows) for rows in built[1].values()) > 200


@pytest.mark.parametrize("gap", [1, 300, 70_000])
@pytest.mark.parametrize("count", [1, 5, 40])  # small blocks are encoded without numpy, large ones with
def test_a_block_reads_back_what_was_written(gap: int, count: int) -> None:
    """Gaps of 1, 2 and 4 bytes; weights all 1, alike, small whole, large whole, fractional; values."""
    from array import array

    import numpy as np

    from commons.search.codec import SMALL_BLOCK, Values, decode_block, encode_block

    assert 5 < SMALL_BLOCK < 40
    ids = array("I", [5 + gap * i for i in range(count)])
    for weights in ([1.0] * count, [3.0] * count, [float(i % 7) for i in range(count)],
                    [300.0 + i for i in range(count)], [0.5 + i for i in range(count)]):
        for values, size in (([], 0), ([b"abcd"] * count, 4), ([b"x" * (i % 5) + b"y" for i in range(count)], None)):
            gaps, found, kept = decode_block(encode_block(ids, array("f", weights), values, size))
            assert np.cumsum(gaps, dtype=np.int64).tolist() == ids.tolist()
            read = [1.0] * count if found is None else [found] * count if isinstance(found, float) else found.tolist()
            assert read == weights
            assert (kept.split() if isinstance(kept, Values) else kept) == \
                (tuple(values) if size is None else b"".join(values) if size else None)
