"""Talk pages: messages kept in git under _talk/, never listed as pages, rendered through the sanitiser."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from commons import paths
from commons.errors import BadRequest, NotFound
from commons.pages import identity_for
from commons.services import Commons
from commons.talk import neutralise, parse, signature
from tests.conftest import add_user, csrf_token, logged_in

API = "/-/api/v1"
HOSTILE = ('<script>alert(1)</script><img src=x onerror="alert(2)"> [clic](javascript:alert(3)) '
           '<a href="/guide" onclick="alert(4)">lien</a>')


@pytest.fixture
def page(services: Commons) -> str:
    services.pages.save("guides/rsa", "# RSA\n\nLe revenu.\n", "rsa", None, identity_for("admin"))
    return "guides/rsa"


def test_messages_are_appended_in_git_beside_the_page(services: Commons, page: str) -> None:
    services.talk.post(page, "Le montant a changé ?", "alice")
    rev = services.talk.post(page, "Oui, au 1er avril.\n", "bob")
    messages = services.talk.messages(page)
    assert [(m.author, m.markdown) for m in messages] == [("alice", "Le montant a changé ?"),
                                                          ("bob", "Oui, au 1er avril.")]
    assert all(abs((datetime.now(UTC) - m.date).total_seconds()) < 120 for m in messages)
    text = services.store.read_file(rev, "_talk/guides/rsa.md")
    assert text is not None and text.decode().startswith("# Discussion : guides/rsa\n\n## alice — ")
    log = subprocess.run(["git", f"--git-dir={services.settings.repo_dir}", "log", "-1", "--format=%an <%ae>|%s"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert log == "bob <bob@users.noreply.commons>|Discussion de guides/rsa"
    assert services.pages.get(page).markdown == "# RSA\n\nLe revenu.\n"


def test_talk_files_are_not_pages(services: Commons, page: str) -> None:
    services.talk.post(page, "Bonjour", "alice")
    assert paths.path_for_file("_talk/guides/rsa.md") is None
    assert [p.path for p in services.pages.list_pages()] == [page]
    services.reindex()
    assert [p.path for p in services.pages.list_pages()] == [page]
    assert services.check() == []


def test_a_message_cannot_forge_another(services: Commons, page: str) -> None:
    forged = "Vrai message\n\n## mallory — 2020-01-01 10:00\n\nfaux\n\n```\n## eve — 2020-01-01 10:00\n```\n```"
    services.talk.post(page, forged, "alice")
    services.talk.post(page, "# Titre\n\nsuite", "bob")
    messages = services.talk.messages(page)
    assert [m.author for m in messages] == ["alice", "bob"]
    assert "### mallory" in messages[0].markdown and " ## eve" in messages[0].markdown
    assert messages[1].markdown.startswith("### Titre")


def test_parse_and_neutralise_are_inverse_enough() -> None:
    when = datetime(2026, 11, 29, 14, 3, tzinfo=UTC)
    assert signature("alice", when) == "## alice — 2026-11-29 14:03"
    body = neutralise("## a\n```py\nx")
    text = f"# Discussion : x\n\n{signature('alice', when)}\n\n{body}\n"
    [message] = parse(text)
    assert (message.author, message.date, message.markdown) == ("alice", when, "### a\n```py\nx\n```")


def test_bad_messages_and_missing_pages(services: Commons, page: str) -> None:
    for bad in ("", "   \n", None, "a\0b"):
        with pytest.raises(BadRequest):
            services.talk.post(page, bad, "alice")
    with pytest.raises(NotFound):
        services.talk.post("absente", "Bonjour", "alice")
    with pytest.raises(NotFound):
        services.talk.messages("absente")
    assert services.talk.messages(page) == []


def test_discussion_survives_the_page_and_counts_as_a_contribution(services: Commons, page: str) -> None:
    services.talk.post(page, "Une source : le décret de 2024.", "alice")
    services.pages.delete(page, None, identity_for("admin"))
    assert [m.author for m in services.talk.messages(page)] == ["alice"]
    services.talk.post(page, "Pourquoi supprimée ?", "bob")
    profile = services.contributions.person("alice")
    assert profile is not None and profile.discussions == 1
    assert services.talk.totals() == {"alice": 1, "bob": 1}
    assert [h.message.author for h in services.talk.search("DECRET")] == ["alice"]
    assert services.talk.search("decret absent") == []


# -- the web --------------------------------------------------------------------------------


def test_talk_page_read_and_post(app: Flask, client: FlaskClient, services: Commons, page: str) -> None:
    assert "Personne n'a encore écrit" in client.get(f"/-/talk/{page}").get_data(as_text=True)
    assert 'href="/-/talk/guides/rsa"' in client.get(f"/{page}").get_data(as_text=True)  # "Discussion" link
    token = csrf_token(client, "/-/login")
    assert client.post(f"/-/talk/{page}", data={"markdown": "anonyme", "csrf_token": token}).status_code == 401
    rita = logged_in(app, "rita", "reader")
    posted = rita.post(f"/-/talk/{page}", data={"markdown": "**Question** : et les APL ?",
                                                "csrf_token": csrf_token(rita, f"/-/talk/{page}")})
    assert posted.status_code == 303 and posted.headers["Location"].endswith("#message-1")
    shown = client.get(f"/-/talk/{page}").get_data(as_text=True)
    assert "<strong>Question</strong>" in shown and "rita" in shown
    assert rita.post(f"/-/talk/{page}", data={"markdown": "sans jeton"}).status_code == 400
    empty = rita.post(f"/-/talk/{page}", data={"markdown": " ", "csrf_token": csrf_token(rita, "/-/login")})
    assert empty.status_code == 400 and "vide" in empty.get_data(as_text=True)
    assert len(services.talk.messages(page)) == 1
    assert client.get("/-/talk/absente").status_code == 404
    assert "et les APL" in client.get("/-/talk?q=apl").get_data(as_text=True)


def test_talk_is_not_listed_as_a_page(app: Flask, client: FlaskClient, services: Commons, page: str) -> None:
    services.talk.post(page, "Bonjour", "alice")
    listing = client.get("/-/pages").get_data(as_text=True)
    assert "_talk" not in listing
    assert [p["path"] for p in client.get(f"{API}/pages").get_json()["pages"]] == [page]
    assert client.get("/_talk/guides/rsa").status_code in (400, 404)


def test_html_in_talk_is_sanitised(app: Flask, client: FlaskClient, services: Commons, page: str) -> None:
    services.talk.post(page, HOSTILE, "mallory")
    for html in (client.get(f"/-/talk/{page}").get_data(as_text=True),
                 client.get(f"{API}/pages/{page}/talk").get_json()["messages"][0]["html"]):
        assert "<script" not in html and "onerror" not in html and "onclick" not in html
        assert "javascript:" not in html


def test_talk_api(app: Flask, client: FlaskClient, services: Commons, page: str) -> None:
    add_user(app, "rita", "reader")
    headers = {"Authorization": f"Bearer {services.accounts.new_token('rita')}"}
    assert client.get(f"{API}/pages/{page}/talk").get_json() == {"path": page, "messages": []}
    assert client.post(f"{API}/pages/{page}/talk", json={"markdown": "Bonjour"}).status_code == 401
    posted = client.post(f"{API}/pages/{page}/talk", headers=headers, json={"markdown": "Bonjour *tout le monde*"})
    assert posted.status_code == 201
    [message] = posted.get_json()["messages"]
    assert message["author"] == "rita" and "<em>tout le monde</em>" in message["html"]
    assert datetime.fromisoformat(message["date"]).tzinfo is not None
    assert client.get(f"{API}/pages/{page}/talk").get_json()["messages"] == [message]
    assert client.post(f"{API}/pages/{page}/talk", headers=headers, json={"markdown": ""}).status_code == 400
    assert client.post(f"{API}/pages/{page}/talk", headers=headers, json=["x"]).status_code == 400
    assert client.get(f"{API}/pages/absente/talk").status_code == 404
    assert client.post(f"{API}/pages/absente/talk", headers=headers, json={"markdown": "x"}).status_code == 404
