"""Unit tests for commons.paths: titles to slugs, the one gate for page names, wikilink targets."""

from __future__ import annotations

import pytest

from commons import paths
from commons.errors import InvalidPath


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Accès aux droits", "acces-aux-droits"),
        ("L'été à Noël", "l-ete-a-noel"),
        ("L’été à Noël", "l-ete-a-noel"),
        ("Œuvres & Cœur", "oeuvres-coeur"),
        ("Guides/Écrire un bon guide", "guides/ecrire-un-bon-guide"),
        ("  Aide   au\tlogement \n", "aide-au-logement"),
        ("Qu'est-ce que le RSA ?!", "qu-est-ce-que-le-rsa"),
        ("RSA : montants (2024)", "rsa-montants-2024"),
        ("--option", "option"),
        ("a..b", "a-b"),
        ("Straße", "strasse"),
        ("ÇA VA", "ca-va"),
        ("guides//rsa/", "guides/rsa"),
        ("/guides/rsa", "guides/rsa"),
        ("Été 2024", "ete-2024"),
    ],
)
def test_slugify_folds_accents_and_punctuation(title: str, slug: str) -> None:
    assert paths.slugify(title) == slug
    assert paths.validate_path(slug) == slug


@pytest.mark.parametrize("title", ["", "   ", "?!", "---", "/", "«»", "🙂"])
def test_slugify_of_nothing_usable_is_refused(title: str) -> None:
    with pytest.raises(InvalidPath):
        paths.slugify(title)


@pytest.mark.parametrize("path", ["home", "guides/acces-aux-droits", "a", "a1/b-2/c", "x" * 200, "2024"])
def test_validate_path_accepts_good_names(path: str) -> None:
    assert paths.validate_path(path) == path
    assert paths.is_valid_path(path)


HOSTILE = [
    "..",
    ".",
    "../x",
    "a/../b",
    "/abs",
    "/etc/passwd",
    "a//b",
    "a/",
    "-rf",
    "--help",
    "a/-x",
    ".git",
    "a/.git",
    ".git/config",
    "x.md",
    "a\0b",
    "a\nb",
    "a\rb",
    "a\tb",
    "a\x1bb",
    "a\x7fb",
    "Home",
    "GUIDES/rsa",
    "x" * 201,
    "",
    "-",
    " ",
    "a b",
    "a\\b",
    "é",
    "a_b",
    "~",
    "a?b",
    "a#b",
    "a%2fb",
]


@pytest.mark.parametrize("path", HOSTILE)
def test_validate_path_rejects_hostile_names(path: str) -> None:
    with pytest.raises(InvalidPath):
        paths.validate_path(path)
    assert not paths.is_valid_path(path)


@pytest.mark.parametrize("value", [None, 3, b"home", ["home"]])
def test_validate_path_rejects_non_strings(value: object) -> None:
    with pytest.raises(InvalidPath):
        paths.validate_path(value)  # type: ignore[arg-type]


def test_invalid_path_is_a_400_with_a_french_message() -> None:
    with pytest.raises(InvalidPath) as caught:
        paths.validate_path("../x")
    assert caught.value.status == 400
    assert caught.value.code == "invalid_path"
    assert "minuscules" in caught.value.message


def test_file_names_map_both_ways() -> None:
    assert paths.file_for("guides/rsa") == "guides/rsa.md"
    assert paths.path_for_file("guides/rsa.md") == "guides/rsa"
    assert paths.path_for_file("README") is None
    assert paths.path_for_file("README.md") is None
    assert paths.path_for_file("images/logo.png") is None
    assert paths.path_for_file("../x.md") is None
    with pytest.raises(InvalidPath):
        paths.file_for("../x")


def test_readable_name_from_last_segment() -> None:
    assert paths.readable_name("guides/acces-aux-droits") == "Acces aux droits"
    assert paths.readable_name("home") == "Home"


@pytest.mark.parametrize(
    ("target", "current", "resolved"),
    [
        ("Accès aux droits", "guides/rsa", "acces-aux-droits"),
        ("guides/rsa", "home", "guides/rsa"),
        ("/guides/rsa", "a/b", "guides/rsa"),
        ("../rsa", "guides/logement/apl", "guides/rsa"),
        ("../../home", "guides/logement/apl", "home"),
        ("./apl", "guides/logement/alf", "guides/logement/apl"),
        ("./Aide au logement", "guides/rsa", "guides/aide-au-logement"),
        ("../Écrire un bon guide", "guides/rsa/montants", "guides/ecrire-un-bon-guide"),
        ("  Accès  ", "", "acces"),
    ],
)
def test_resolve_link(target: str, current: str, resolved: str) -> None:
    assert paths.resolve_link(target, current) == resolved


@pytest.mark.parametrize(("target", "current"), [("../../x", "guides/rsa"), ("../x", "home"), ("?!", "home")])
def test_resolve_link_refuses_links_that_leave_the_commons(target: str, current: str) -> None:
    with pytest.raises(InvalidPath):
        paths.resolve_link(target, current)
