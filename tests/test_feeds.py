"""Recent changes with filters (web and API), Atom feeds, watchlists and their private feed."""

from __future__ import annotations

import re
import sqlite3
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest
from conftest import PASSWORD, csrf_token, login
from flask import Flask
from flask.testing import FlaskClient

from commons.pages import identity_for
from commons.services import Commons

ATOM = "{http://www.w3.org/2005/Atom}"
API = "/-/api/v1"


@pytest.fixture
def svc(app: Flask) -> Commons:
    """The services of the running app."""
    return app.extensions["commons"]  # type: ignore[no-any-return]


@pytest.fixture
def changes(svc: Commons) -> dict[str, str]:
    """Six changes, oldest first: new, new, new, edit, delete, restore; by alice, bob and carol."""
    svc.accounts.add("alice", PASSWORD, role="contributor", display_name="Alice Martin")
    svc.accounts.add("bob", PASSWORD, role="maintainer", display_name="Bob Leroy")
    pages = svc.pages
    alice, bob = identity_for("alice"), identity_for("bob")
    revs = {"rsa": pages.save("guides/rsa", "# Le RSA\n\nTexte.\n", "création du guide", None, alice).rev}
    revs["logement"] = pages.save("guides/logement", "# Logement\n", "logement", None, alice).rev
    revs["apropos"] = pages.save("apropos", "# À propos\n", "à propos", None, bob).rev
    revs["rsa2"] = pages.save("guides/rsa", "# Le RSA\n\nTexte revu.\n", "montants", revs["rsa"], bob).rev
    revs["deleted"] = pages.delete("guides/logement", revs["logement"], bob, "doublon")
    revs["restored"] = pages.restore("guides/logement", revs["logement"], identity_for("carol")).rev
    return revs


def summaries(client: FlaskClient, url: str) -> list[str]:
    body = client.get(url).get_json()
    return [c["summary"] for c in body["changes"]]


def listed(page: str) -> list[str]:
    """The paths of a recent-changes list, in order."""
    return re.findall(r'— <a href="/([^"]*)">', page)


# -- recent changes: web and API -------------------------------------------------------------


def test_recent_lists_everything_newest_first_with_kinds(client: FlaskClient, changes: dict[str, str]) -> None:
    page = client.get("/-/recent").get_data(as_text=True)
    assert listed(page) == ["guides/logement", "guides/logement", "guides/rsa", "apropos", "guides/logement",
                            "guides/rsa"]
    assert "restauration" in page and "suppression" in page and "nouvelle page" in page
    assert ">Bob Leroy</a>" in page  # display names, as everywhere in the HTML


@pytest.mark.parametrize(("query", "expected"), [
    ("folder=guides", ["Restauration", "doublon", "montants", "logement", "création du guide"]),
    ("folder=guides/", ["Restauration", "doublon", "montants", "logement", "création du guide"]),
    ("author=bob", ["doublon", "montants", "à propos"]),
    ("author=Bob", ["doublon", "montants", "à propos"]),
    ("kind=new", ["à propos", "logement", "création du guide"]),
    ("kind=edit", ["montants"]),
    ("kind=delete", ["doublon"]),
    ("kind=restore", ["Restauration"]),
    ("kind=new&author=alice&folder=guides", ["logement", "création du guide"]),
    ("folder=ailleurs", []),
])
def test_recent_filters_in_the_api(client: FlaskClient, changes: dict[str, str], query: str,
                                   expected: list[str]) -> None:
    found = summaries(client, f"{API}/recent?{query}")
    assert [s.split(" de la révision")[0] for s in found] == expected


def test_recent_api_pages_and_kinds(client: FlaskClient, changes: dict[str, str]) -> None:
    body = client.get(f"{API}/recent?limit=2&offset=1").get_json()
    assert [(c["path"], c["kind"]) for c in body["changes"]] == [("guides/logement", "delete"),
                                                                 ("guides/rsa", "edit")]
    for change in body["changes"]:
        assert {"path", "rev", "author", "date", "summary"} <= set(change)
        datetime.fromisoformat(change["date"])
    assert body["changes"][0]["rev"] == changes["deleted"]


@pytest.mark.parametrize("query", ["kind=nope", "folder=../x", "folder=Guides%20A", "offset=-1", "limit=x"])
def test_recent_api_refuses_bad_filters(client: FlaskClient, query: str) -> None:
    response = client.get(f"{API}/recent?{query}")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"]


def test_recent_web_filters_and_pagination(client: FlaskClient, changes: dict[str, str]) -> None:
    assert listed(client.get("/-/recent?author=alice").get_data(as_text=True)) == ["guides/logement", "guides/rsa"]
    assert listed(client.get("/-/recent?kind=delete").get_data(as_text=True)) == ["guides/logement"]
    first = client.get("/-/recent?folder=guides&limit=2").get_data(as_text=True)
    assert listed(first) == ["guides/logement", "guides/logement"]
    following = re.search(r'rel="next" href="([^"]+)"', first)
    assert following
    second_url = following.group(1).replace("&amp;", "&")
    assert "folder=guides" in second_url and "page=2" in second_url and "limit=2" in second_url
    second = client.get(second_url).get_data(as_text=True)
    assert listed(second) == ["guides/rsa", "guides/logement"] and 'rel="prev"' in second
    last = client.get("/-/recent?folder=guides&limit=2&page=3").get_data(as_text=True)
    assert listed(last) == ["guides/rsa"] and 'rel="next"' not in last
    assert "ne correspond" in client.get("/-/recent?folder=vide").get_data(as_text=True)
    assert client.get("/-/recent?kind=nope").status_code == 400


def test_recent_and_history_pages_announce_their_feeds(client: FlaskClient, changes: dict[str, str]) -> None:
    recent = client.get("/-/recent?folder=guides").get_data(as_text=True)
    head = recent.split("</head>")[0]
    assert re.search(r'<link rel="alternate" type="application/atom\+xml"[^>]*href="/-/recent.atom\?folder=guides"',
                     head)
    history = client.get("/-/history/guides/rsa").get_data(as_text=True).split("</head>")[0]
    assert re.search(r'<link rel="alternate" type="application/atom\+xml"[^>]*href="/-/history/guides/rsa.atom"',
                     history)


# -- Atom feeds ------------------------------------------------------------------------------


def parse_feed(client: FlaskClient, url: str) -> ET.Element:
    """Fetch and parse an Atom feed, checking what RFC 4287 requires of the feed and its entries."""
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.mimetype == "application/atom+xml"
    root = ET.fromstring(response.get_data())  # noqa: S314 - our own output, parsed to check it
    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert (root.findtext(f"{ATOM}{name}") or "").strip(), f"feed without {name}"
    datetime.fromisoformat(root.findtext(f"{ATOM}updated"))  # type: ignore[arg-type]
    assert root.find(f"{ATOM}link[@rel='self']") is not None
    for entry in root.findall(f"{ATOM}entry"):
        for name in ("id", "title", "updated"):
            assert (entry.findtext(f"{ATOM}{name}") or "").strip(), f"entry without {name}"
        datetime.fromisoformat(entry.findtext(f"{ATOM}updated"))  # type: ignore[arg-type]
        assert (entry.findtext(f"{ATOM}author/{ATOM}name") or "").strip(), "entry without author/name"
        assert [link for link in entry.findall(f"{ATOM}link") if link.get("rel", "alternate") == "alternate"]
    return root


def entries(root: ET.Element) -> list[ET.Element]:
    return root.findall(f"{ATOM}entry")


def test_recent_feed(client: FlaskClient, changes: dict[str, str]) -> None:
    root = parse_feed(client, "/-/recent.atom")
    found = entries(root)
    assert len(found) == 6
    newest = found[0]
    assert newest.findtext(f"{ATOM}title") == "Logement — Restauration de la révision " + changes["logement"][:7]
    entry_id = newest.findtext(f"{ATOM}id") or ""
    assert re.fullmatch(rf"tag:localhost,\d{{4}}-\d\d-\d\d:{changes['restored']}/guides/logement", entry_id)
    link = newest.find(f"{ATOM}link").get("href")  # type: ignore[union-attr]
    assert link == f"http://localhost/-/diff/guides/logement?to={changes['restored']}"
    authors = [e.findtext(f"{ATOM}author/{ATOM}name") for e in found]
    assert authors == ["carol", "Bob Leroy", "Bob Leroy", "Bob Leroy", "Alice Martin", "Alice Martin"]
    assert len({e.findtext(f"{ATOM}id") for e in found}) == 6
    assert root.findtext(f"{ATOM}updated", "").startswith(newest.findtext(f"{ATOM}updated", "")[:19])


def test_feed_filters_folder_author_kind(client: FlaskClient, changes: dict[str, str]) -> None:
    folder = entries(parse_feed(client, "/-/recent.atom?folder=guides"))
    assert len(folder) == 5 and all("/guides/" in (e.findtext(f"{ATOM}id") or "") for e in folder)
    restores = entries(parse_feed(client, "/-/recent.atom?kind=restore"))
    assert [e.findtext(f"{ATOM}author/{ATOM}name") for e in restores] == ["carol"]
    assert client.get("/-/recent.atom?kind=nope").status_code == 400


def test_page_history_feed(client: FlaskClient, changes: dict[str, str]) -> None:
    root = parse_feed(client, "/-/history/guides/rsa.atom")
    assert "Le RSA" in (root.findtext(f"{ATOM}title") or "")
    assert [e.findtext(f"{ATOM}title") for e in entries(root)] == ["Le RSA — montants", "Le RSA — création du guide"]
    assert client.get("/-/history/nulle-part.atom").status_code == 404


def test_contributor_feed(client: FlaskClient, changes: dict[str, str]) -> None:
    root = parse_feed(client, "/-/contributors/Bob.atom")
    assert "Bob Leroy" in (root.findtext(f"{ATOM}title") or "")
    assert [e.findtext(f"{ATOM}title") for e in entries(root)] == [
        "Logement — doublon", "Le RSA — montants", "À propos — à propos"]
    assert len(entries(parse_feed(client, "/-/contributors/carol.atom"))) == 1  # an author with no account
    assert client.get("/-/contributors/personne.atom").status_code == 404


def test_empty_feed_is_valid(client: FlaskClient) -> None:
    assert entries(parse_feed(client, "/-/recent.atom")) == []


def test_feed_survives_control_characters_in_history(client: FlaskClient, svc: Commons) -> None:
    svc.pages.save("page", "# Page\n", "résumé \x01 bizarre \x1b", None, identity_for("alice"))
    found = entries(parse_feed(client, "/-/recent.atom"))
    assert "bizarre" in (found[0].findtext(f"{ATOM}title") or "")


# -- watching --------------------------------------------------------------------------------


@pytest.fixture
def reader(app: Flask, svc: Commons, changes: dict[str, str]) -> FlaskClient:
    """A logged-in reader called ``rita`` (any account may watch)."""
    svc.accounts.add("rita", PASSWORD, role="reader")
    client = app.test_client()
    login(client, "rita")
    return client


def watch(client: FlaskClient, target: str, folder: bool = False, action: str = "watch") -> int:
    token = csrf_token(client, "/-/watchlist")
    return client.post("/-/watch", data={"target": target, "folder": "1" if folder else "0", "action": action,
                                         "csrf_token": token}).status_code


def test_watching_needs_an_account_and_a_csrf_token(client: FlaskClient, reader: FlaskClient) -> None:
    anonymous = client.get("/-/watchlist")
    assert anonymous.status_code in (302, 303) and "/-/login" in anonymous.headers["Location"]
    assert client.post("/-/watch", data={"target": "apropos"}).status_code in (400, 401)
    assert reader.post("/-/watch", data={"target": "apropos"}).status_code == 400  # no CSRF token
    assert client.get("/-/watchlist/wl_inconnu.atom").status_code == 404
    assert "Suivre" not in client.get("/apropos").get_data(as_text=True)


def test_watch_buttons_on_page_and_folder_views(reader: FlaskClient) -> None:
    page = reader.get("/apropos").get_data(as_text=True)
    assert re.search(r'name="action" value="watch">\s*<button[^>]*>Suivre</button>', page)
    assert watch(reader, "apropos") == 303
    assert ">Ne plus suivre</button>" in reader.get("/apropos").get_data(as_text=True)
    assert re.search(r">Suivre le dossier</button>", reader.get("/guides/").get_data(as_text=True))
    assert watch(reader, "guides", folder=True) == 303
    assert ">Ne plus suivre le dossier</button>" in reader.get("/guides/").get_data(as_text=True)
    assert watch(reader, "apropos", action="unwatch") == 303
    assert ">Suivre</button>" in reader.get("/apropos").get_data(as_text=True)
    assert watch(reader, "Pas/Valide") == 400


def test_watchlist_shows_changes_of_watched_pages_and_folders(reader: FlaskClient, svc: Commons,
                                                              changes: dict[str, str]) -> None:
    assert "aucune page" in reader.get("/-/watchlist").get_data(as_text=True)
    watch(reader, "apropos")
    watch(reader, "guides", folder=True)
    svc.pages.save("ailleurs", "# Ailleurs\n", "non suivie", None, identity_for("alice"))
    svc.pages.save("guides/neuf", "# Neuf\n", "nouveau guide", None, identity_for("alice"))
    page = reader.get("/-/watchlist").get_data(as_text=True)
    shown = listed(page.split('id="modifs"')[1])
    assert shown == ["guides/neuf", "guides/logement", "guides/logement", "guides/rsa", "apropos",
                     "guides/logement", "guides/rsa"]
    assert "non suivie" not in page


def test_private_feed_token_is_shown_once_and_can_be_revoked(reader: FlaskClient, client: FlaskClient,
                                                             svc: Commons) -> None:
    watch(reader, "guides/rsa")
    token = csrf_token(reader, "/-/watchlist")
    page = reader.post("/-/watchlist/feed", data={"csrf_token": token}).get_data(as_text=True)
    url = re.search(r'id="feed-url" type="text" readonly value="([^"]+)"', page)
    assert url and url.group(1).startswith("http://localhost/-/watchlist/wl_")
    feed_path = url.group(1).removeprefix("http://localhost")
    response = client.get(feed_path)  # no session: the token alone opens it
    assert response.headers["Cache-Control"] == "private, no-store"
    root = parse_feed(client, feed_path)
    assert [e.findtext(f"{ATOM}title") for e in entries(root)] == ["Le RSA — montants", "Le RSA — création du guide"]
    assert feed_path.split("/")[-1].removesuffix(".atom") not in reader.get("/-/watchlist").get_data(as_text=True)
    # stored hashed: the clear token is nowhere in the database
    secret = feed_path.split("/")[-1].removesuffix(".atom")
    with sqlite3.connect(svc.settings.data_dir / "commons.db") as db:
        assert secret not in repr(db.execute("SELECT * FROM watch_feeds").fetchall())
    # a new address replaces the old one
    page = reader.post("/-/watchlist/feed", data={"csrf_token": token}).get_data(as_text=True)
    new_url = re.search(r'id="feed-url" type="text" readonly value="([^"]+)"', page)
    assert new_url and new_url.group(1) != url.group(1)
    assert client.get(feed_path).status_code == 404
    new_path = new_url.group(1).removeprefix("http://localhost")
    assert client.get(new_path).status_code == 200
    assert reader.post("/-/watchlist/feed/revoke", data={"csrf_token": token}).status_code == 303
    assert client.get(new_path).status_code == 404
    assert reader.post("/-/watchlist/feed/revoke", data={}).status_code == 400  # CSRF


def test_private_feed_stops_for_a_blocked_account(reader: FlaskClient, client: FlaskClient,
                                                  svc: Commons) -> None:
    user = svc.accounts.by_name("rita")
    assert user is not None
    secret = svc.watches.new_feed_token(user.id)
    assert client.get(f"/-/watchlist/{secret}.atom").status_code == 200
    svc.accounts.set_blocked("rita")
    assert client.get(f"/-/watchlist/{secret}.atom").status_code == 404


def test_erasing_an_account_forgets_its_watches(reader: FlaskClient, svc: Commons) -> None:
    watch(reader, "apropos")
    user = svc.accounts.by_name("rita")
    assert user is not None and svc.watches.watched(user.id).pages == ("apropos",)
    secret = svc.watches.new_feed_token(user.id)
    svc.members.erase(user)
    assert not svc.watches.watched(user.id) and svc.watches.feed_created(user.id) is None
    assert svc.watches.account_for_feed_token(secret) is None
