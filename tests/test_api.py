"""The JSON API (/-/api/v1) through the app factory's test client, on a real commons (git + SQLite)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import pytest
from conftest import MakeApp, add_user, csrf_token, git_log, login
from flask import Flask
from flask.testing import FlaskClient

from commons.services import Commons

API = "/-/api/v1"
SHA = re.compile(r"[0-9a-f]{40}")


# -- helpers ---------------------------------------------------------------------------


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_for(app: Flask, name: str, role: str = "contributor") -> dict[str, str]:
    """Authorization headers for a new account ``name`` with ``role``."""
    add_user(app, name, role)
    return bearer(app.extensions["commons"].accounts.new_token(name))


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is the API's JSON error with ``status`` (and ``code``)."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body["error"]) >= {"code", "message"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    return dict(body)


def iso(value: str) -> datetime:
    """Parse an ISO 8601 date with its time zone."""
    when = datetime.fromisoformat(value)
    assert when.tzinfo is not None, f"date without time zone: {value}"
    return when


@pytest.fixture
def auth(app: Flask) -> dict[str, str]:
    """Bearer headers of the contributor ``alice``."""
    return token_for(app, "alice")


def put(client: FlaskClient, path: str, markdown: Any, base_rev: Any = None, summary: Any = None,
        headers: dict[str, str] | None = None) -> Any:
    body: dict[str, Any] = {"markdown": markdown, "base_rev": base_rev}
    if summary is not None:
        body["summary"] = summary
    return client.put(f"{API}/pages/{path}", json=body, headers=headers or {})


# -- pages: create, save, conflict, read, delete ------------------------------------------


def test_put_creates_a_page(client: FlaskClient, auth: dict[str, str], services: Commons) -> None:
    response = put(client, "guides/rsa", "# Le RSA\n\nTexte.", None, "Création du guide", auth)
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"path", "rev", "merged"}
    assert body["path"] == "guides/rsa" and body["merged"] is False
    assert SHA.fullmatch(body["rev"])
    assert git_log(services) == ["alice <alice@users.noreply.commons>|Création du guide"]
    assert git_log(services, "%H") == [body["rev"]]


def test_put_with_the_current_rev_saves(client: FlaskClient, auth: dict[str, str], services: Commons) -> None:
    first = put(client, "notes", "# Notes\n\nun", None, headers=auth).get_json()["rev"]
    response = put(client, "notes", "# Notes\n\ndeux", first, "deuxième version", auth)
    assert response.status_code == 200
    body = response.get_json()
    assert body["path"] == "notes" and body["merged"] is False
    assert SHA.fullmatch(body["rev"]) and body["rev"] != first
    assert client.get(f"{API}/pages/notes").get_json()["markdown"] == "# Notes\n\ndeux\n"
    assert git_log(services)[0] == "alice <alice@users.noreply.commons>|deuxième version"


def test_put_of_the_same_text_commits_nothing(client: FlaskClient, auth: dict[str, str],
                                             services: Commons) -> None:
    rev = put(client, "notes", "# Notes\n", None, headers=auth).get_json()["rev"]
    response = put(client, "notes", "# Notes\n", rev, headers=auth)
    assert response.status_code == 200
    assert response.get_json()["rev"] == rev
    assert len(git_log(services)) == 1


def test_put_with_a_stale_base_rev_is_409_with_the_current_text(
    app: Flask, client: FlaskClient, auth: dict[str, str], services: Commons
) -> None:
    stale = put(client, "notes", "# Notes\n\nLe loyer est de 500 euros.", None, headers=auth).get_json()["rev"]
    bob = token_for(app, "bob")
    current = put(client, "notes", "# Notes\n\nLe loyer est de 650 euros.", stale, headers=bob).get_json()["rev"]
    response = put(client, "notes", "# Notes\n\nLe loyer est de 480 euros.", stale, headers=auth)
    body = assert_error(response, 409, "conflict")
    assert body["current_rev"] == current
    assert body["current_markdown"] == "# Notes\n\nLe loyer est de 650 euros.\n"
    assert len(git_log(services)) == 2
    assert git_log(services)[0].startswith("bob <bob@users.noreply.commons>|")


def test_put_without_base_rev_on_an_existing_page_is_409(client: FlaskClient, auth: dict[str, str],
                                                        services: Commons) -> None:
    rev = put(client, "notes", "# Notes\n\noriginal", None, headers=auth).get_json()["rev"]
    body = assert_error(put(client, "notes", "# Notes\n\nécrasé", None, headers=auth), 409, "conflict")
    assert body["current_rev"] == rev and "original" in body["current_markdown"]
    assert len(git_log(services)) == 1


def test_non_overlapping_concurrent_edits_are_merged(app: Flask, client: FlaskClient,
                                                     auth: dict[str, str]) -> None:
    lines = [f"ligne {n}" for n in range(1, 11)]
    base = put(client, "notes", "\n".join(lines), None, headers=auth).get_json()["rev"]
    theirs = lines.copy()
    theirs[0] = "ligne 1 changée par bob"
    put(client, "notes", "\n".join(theirs), base, headers=token_for(app, "bob"))
    mine = lines.copy()
    mine[9] = "ligne 10 changée par alice"
    response = put(client, "notes", "\n".join(mine), base, headers=auth)
    assert response.status_code == 200
    assert response.get_json()["merged"] is True
    text = client.get(f"{API}/pages/notes").get_json()["markdown"]
    assert "changée par bob" in text and "changée par alice" in text


def test_get_page(client: FlaskClient, auth: dict[str, str]) -> None:
    rev = put(client, "guides/rsa", "# Le RSA\n\nDu **gras**.", None, headers=auth).get_json()["rev"]
    response = client.get(f"{API}/pages/guides/rsa")  # reading needs no login
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) >= {"path", "title", "markdown", "html", "rev", "updated"}
    assert body["path"] == "guides/rsa"
    assert body["title"] == "Le RSA"
    assert body["markdown"] == "# Le RSA\n\nDu **gras**.\n"
    assert "<strong>gras</strong>" in body["html"]
    assert body["rev"] == rev and SHA.fullmatch(body["rev"])
    iso(body["updated"])


def test_get_page_html_is_sanitised(client: FlaskClient, auth: dict[str, str]) -> None:
    hostile = ("# Piège\n\n<script>alert(1)</script>\n\n<img src=x onerror=\"alert(2)\">\n\n"
               "[clic](javascript:alert(3))\n\n<a href=\"javascript:alert(4)\">a</a>\n\n<iframe src=x></iframe>\n")
    assert put(client, "piege", hostile, None, headers=auth).status_code == 201
    body = client.get(f"{API}/pages/piege").get_json()
    assert body["markdown"].startswith("# Piège")  # the source is kept as written
    html = body["html"].lower()
    assert "<script" not in html and "<iframe" not in html
    assert "onerror" not in html and "javascript:" not in html


def test_get_page_at_an_old_revision(client: FlaskClient, auth: dict[str, str]) -> None:
    old = put(client, "notes", "# Notes\n\nancien", None, headers=auth).get_json()["rev"]
    new = put(client, "notes", "# Notes\n\nnouveau", old, headers=auth).get_json()["rev"]
    body = client.get(f"{API}/pages/notes?rev={old}").get_json()
    assert body["markdown"] == "# Notes\n\nancien\n" and body["rev"] == old
    assert client.get(f"{API}/pages/notes").get_json()["rev"] == new
    assert client.get(f"{API}/pages/notes?rev={old[:10]}").get_json()["markdown"] == "# Notes\n\nancien\n"


def test_list_pages(client: FlaskClient, auth: dict[str, str]) -> None:
    assert client.get(f"{API}/pages").get_json() == {"pages": []}
    rev = put(client, "guides/rsa", "---\ntitle: Revenu de solidarité\n---\n\nTexte.", None,
              headers=auth).get_json()["rev"]
    put(client, "home", "# Accueil", None, headers=auth)
    pages = client.get(f"{API}/pages").get_json()["pages"]
    assert [p["path"] for p in pages] == ["guides/rsa", "home"]
    assert pages[0]["title"] == "Revenu de solidarité" and pages[0]["rev"] == rev
    assert set(pages[0]) >= {"path", "title", "rev", "updated"}
    iso(pages[0]["updated"])


def test_history_newest_first_with_limit_and_offset(client: FlaskClient, auth: dict[str, str]) -> None:
    revs: list[str] = []
    for n in range(1, 5):
        revs.append(put(client, "notes", f"# Notes\n\nversion {n}", revs[-1] if revs else None, f"v{n}",
                        auth).get_json()["rev"])
    body = client.get(f"{API}/pages/notes/history").get_json()
    revisions = body["revisions"]
    assert [r["rev"] for r in revisions] == revs[::-1]
    assert [r["summary"] for r in revisions] == ["v4", "v3", "v2", "v1"]
    assert {r["author"] for r in revisions} == {"alice"}
    dates = [iso(r["date"]) for r in revisions]
    assert dates == sorted(dates, reverse=True)
    page = client.get(f"{API}/pages/notes/history?limit=2&offset=1").get_json()["revisions"]
    assert [r["summary"] for r in page] == ["v3", "v2"]
    assert client.get(f"{API}/pages/notes/history?offset=10").get_json()["revisions"] == []


def test_delete_with_base_rev(client: FlaskClient, auth: dict[str, str], services: Commons) -> None:
    rev = put(client, "obsolete", "# Obsolète", None, headers=auth).get_json()["rev"]
    response = client.delete(f"{API}/pages/obsolete?base_rev={rev}", headers=auth)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"rev"} and SHA.fullmatch(body["rev"]) and body["rev"] != rev
    assert_error(client.get(f"{API}/pages/obsolete"), 404, "not_found")
    assert client.get(f"{API}/pages").get_json()["pages"] == []
    history = client.get(f"{API}/pages/obsolete/history").get_json()["revisions"]
    assert [r["rev"] for r in history] == [body["rev"], rev]
    assert git_log(services, "%H|%an <%ae>")[0] == f"{body['rev']}|alice <alice@users.noreply.commons>"
    assert client.get(f"{API}/pages/obsolete?rev={rev}").get_json()["markdown"] == "# Obsolète\n"


def test_delete_with_a_stale_base_rev_is_409(client: FlaskClient, auth: dict[str, str],
                                            services: Commons) -> None:
    stale = put(client, "notes", "# Notes\n\nun", None, headers=auth).get_json()["rev"]
    put(client, "notes", "# Notes\n\ndeux", stale, headers=auth)
    assert_error(client.delete(f"{API}/pages/notes?base_rev={stale}", headers=auth), 409, "conflict")
    assert client.get(f"{API}/pages/notes").status_code == 200
    assert len(git_log(services)) == 2


# -- authentication and permissions ---------------------------------------------------------


def test_writes_without_auth_are_401(client: FlaskClient, auth: dict[str, str], services: Commons) -> None:
    rev = put(client, "notes", "# Notes", None, headers=auth).get_json()["rev"]
    assert_error(put(client, "autre", "# Autre"), 401, "not_logged_in")
    assert_error(put(client, "notes", "# Notes\n\npirate", rev), 401, "not_logged_in")
    assert_error(client.delete(f"{API}/pages/notes?base_rev={rev}"), 401, "not_logged_in")
    assert len(git_log(services)) == 1


@pytest.mark.parametrize("header", ["Bearer cmn_faux", "Bearer ", "Bearer " + "x" * 500, "Bearer cmn_é",
                                    "Bearer cmn_\t", "Bearer cmn_" + "a" * 43])
def test_bad_tokens_are_401(client: FlaskClient, services: Commons, header: str) -> None:
    assert_error(client.put(f"{API}/pages/x", json={"markdown": "# X", "base_rev": None},
                            headers={"Authorization": header}), 401)
    assert_error(client.get(f"{API}/pages", headers={"Authorization": header}), 401)
    assert git_log(services) == []


def test_revoked_token_is_401(app: Flask, client: FlaskClient, services: Commons) -> None:
    accounts = app.extensions["commons"].accounts
    add_user(app, "alice")
    token = accounts.new_token("alice", "éphémère")
    assert put(client, "a", "# A", None, headers=bearer(token)).status_code == 201
    accounts.revoke_token(accounts.by_name("alice").id, accounts.tokens(accounts.by_name("alice").id)[0].id)
    assert_error(put(client, "b", "# B", None, headers=bearer(token)), 401, "not_logged_in")
    assert len(git_log(services)) == 1


def test_blocked_accounts_token_is_401(app: Flask, client: FlaskClient, auth: dict[str, str],
                                       services: Commons) -> None:
    app.extensions["commons"].accounts.set_blocked("alice")
    assert_error(put(client, "a", "# A", None, headers=auth), 401, "not_logged_in")
    assert git_log(services) == []


def test_readers_token_is_403(app: Flask, client: FlaskClient, auth: dict[str, str],
                              services: Commons) -> None:
    rev = put(client, "notes", "# Notes", None, headers=auth).get_json()["rev"]
    reader = token_for(app, "rita", "reader")
    assert client.get(f"{API}/pages/notes", headers=reader).status_code == 200
    assert_error(put(client, "autre", "# Autre", None, headers=reader), 403, "forbidden")
    assert_error(client.delete(f"{API}/pages/notes?base_rev={rev}", headers=reader), 403, "forbidden")
    assert len(git_log(services)) == 1


def test_a_bad_token_is_refused_even_with_a_session_cookie(app: Flask, client: FlaskClient,
                                                           services: Commons) -> None:
    add_user(app, "alice")
    login(client, "alice")
    assert_error(put(client, "x", "# X", None, headers=bearer("cmn_faux")), 401)
    assert git_log(services) == []


def test_a_valid_token_speaks_for_its_owner_even_with_another_session(app: Flask, client: FlaskClient,
                                                                      services: Commons) -> None:
    add_user(app, "alice")
    login(client, "alice")
    bob = token_for(app, "bob")
    assert put(client, "x", "# X", None, headers=bob).status_code == 201
    assert git_log(services) == ["bob <bob@users.noreply.commons>|Création de x"]


def test_session_cookie_needs_the_csrf_header_to_write(app: Flask, client: FlaskClient,
                                                      services: Commons) -> None:
    add_user(app, "alice")
    login(client, "alice")
    assert_error(client.put(f"{API}/pages/x", json={"markdown": "# X", "base_rev": None}), 400, "csrf")
    assert_error(client.put(f"{API}/pages/x", json={"markdown": "# X", "base_rev": None},
                            headers={"X-CSRFToken": "faux"}), 400, "csrf")
    assert git_log(services) == []
    token = csrf_token(client, "/-/edit/x")
    response = client.put(f"{API}/pages/x", json={"markdown": "# X", "base_rev": None, "summary": "par cookie"},
                          headers={"X-CSRFToken": token})
    assert response.status_code == 201
    assert git_log(services) == ["alice <alice@users.noreply.commons>|par cookie"]
    rev = response.get_json()["rev"]
    assert_error(client.delete(f"{API}/pages/x?base_rev={rev}"), 400, "csrf")
    assert client.delete(f"{API}/pages/x?base_rev={rev}", headers={"X-CSRFToken": token}).status_code == 200


# -- errors: a table of hostile requests -------------------------------------------------


def test_unknown_page_and_endpoint_are_404(client: FlaskClient) -> None:
    assert_error(client.get(f"{API}/pages/absente"), 404, "not_found")
    assert_error(client.get(f"{API}/pages/absente/history"), 404, "not_found")
    assert_error(client.get(f"{API}/nulle-part"), 404, "not_found")
    assert_error(client.get(f"{API}/"), 404)
    assert_error(client.get("/-/api/v2/pages"), 404)


def test_body_over_the_limit_is_413(make_app: MakeApp, services: Commons) -> None:
    small = make_app(max_body_bytes=1000)
    headers = token_for(small, "alice")
    response = small.test_client().put(f"{API}/pages/grosse", headers=headers,
                                       json={"markdown": "# Grosse\n\n" + "mot " * 500, "base_rev": None})
    assert_error(response, 413, "too_large")
    assert git_log(services) == []


def test_page_over_the_page_limit_is_413(make_app: MakeApp, services: Commons) -> None:
    small = make_app(max_page_bytes=100)
    headers = token_for(small, "alice")
    response = small.test_client().put(f"{API}/pages/grosse", headers=headers,
                                       json={"markdown": "# Grosse\n\n" + "mot " * 100, "base_rev": None})
    assert_error(response, 413, "too_large")
    assert git_log(services) == []


JSON = "application/json"
HOSTILE: list[tuple[str, str, dict[str, Any], int]] = [
    # method, URL under /-/api/v1, request arguments, expected status
    ("PUT", "/pages/x", {"data": "pas du JSON", "content_type": JSON}, 400),
    ("PUT", "/pages/x", {"data": "{\"markdown\": ", "content_type": JSON}, 400),
    ("PUT", "/pages/x", {"data": "", "content_type": JSON}, 400),
    ("PUT", "/pages/x", {"data": "null", "content_type": JSON}, 400),
    ("PUT", "/pages/x", {"json": ["# X"]}, 400),
    ("PUT", "/pages/x", {"json": "# X"}, 400),
    ("PUT", "/pages/x", {"json": 42}, 400),
    ("PUT", "/pages/x", {"json": {}}, 400),
    ("PUT", "/pages/x", {"json": {"markdown": 3, "base_rev": None}}, 400),
    ("PUT", "/pages/x", {"json": {"markdown": None, "base_rev": None}}, 400),
    ("PUT", "/pages/x", {"json": {"markdown": ["a"], "base_rev": None}}, 400),
    ("PUT", "/pages/x", {"json": {"markdown": {"a": 1}, "base_rev": None}}, 400),
    ("PUT", "/pages/x", {"json": {"markdown": "", "base_rev": None}}, 400),
    ("PUT", "/pages/x", {"json": {"markdown": "a\u0000b", "base_rev": None}}, 400),
    ("PUT", "/pages/x", {"json": {"markdown": "# X", "base_rev": 5}}, 400),
    ("PUT", "/pages/x", {"json": {"markdown": "# X", "base_rev": ["a"]}}, 400),
    ("PUT", "/pages/x", {"json": {"markdown": "# X", "base_rev": None, "summary": 5}}, 400),
    ("PUT", "/pages/x", {"json": {"markdown": "# X", "base_rev": None, "summary": "a\u0000"}}, 400),
    ("PUT", "/pages/x", {"json": {"markdown": "# X", "base_rev": None, "summary": "r" * 400}}, 400),
    ("PUT", "/pages/x", {"data": "{\"markdown\": \"\\ud800\", \"base_rev\": null}", "content_type": JSON}, 400),
    ("PUT", "/pages/x", {"data": b"{\"markdown\": \"caf\xe9\", \"base_rev\": null}", "content_type": JSON}, 400),
    ("PUT", "/pages/x", {"data": "[" * 100_000, "content_type": JSON}, 400),
    ("PUT", "/pages/x", {"data": "{\"a\":" * 50_000 + "1" + "}" * 50_000, "content_type": JSON}, 400),
    ("PUT", "/pages/x", {"data": "{\"markdown\": \"# X\", \"base_rev\": null}", "content_type": "text/plain"}, 400),
    ("PUT", "/pages/x", {"data": "markdown=%23+X", "content_type": "application/x-www-form-urlencoded"}, 400),
    ("PUT", "/pages/..%2Fetc", {"json": {"markdown": "# X", "base_rev": None}}, 400),
    ("PUT", "/pages/..%2F..%2Fetc%2Fpasswd", {"json": {"markdown": "# X", "base_rev": None}}, 400),
    ("PUT", "/pages/-x", {"json": {"markdown": "# X", "base_rev": None}}, 400),
    ("PUT", "/pages/guides/-rf", {"json": {"markdown": "# X", "base_rev": None}}, 400),
    ("PUT", "/pages/Majuscule", {"json": {"markdown": "# X", "base_rev": None}}, 400),
    ("PUT", "/pages/caf%C3%A9", {"json": {"markdown": "# X", "base_rev": None}}, 400),
    ("PUT", "/pages/a//b", {"json": {"markdown": "# X", "base_rev": None}}, 400),
    ("PUT", "/pages/a%00b", {"json": {"markdown": "# X", "base_rev": None}}, 400),
    ("PUT", "/pages/.git/config", {"json": {"markdown": "# X", "base_rev": None}}, 400),
    ("PUT", "/pages/" + "a" * 250, {"json": {"markdown": "# X", "base_rev": None}}, 400),
    ("GET", "/pages/..%2Fetc", {}, 400),
    ("GET", "/pages/Majuscule", {}, 400),
    ("GET", "/pages/a%00b", {}, 400),
    ("GET", "/pages/-x/history", {}, 400),
    ("GET", "/pages/existante?rev=zzzz", {}, 404),
    ("GET", "/pages/existante?rev=%00", {}, 404),
    ("GET", "/pages/existante?rev=--all", {}, 404),
    ("GET", "/pages/existante?rev=" + "f" * 40, {}, 404),
    ("GET", "/pages/existante?rev=" + "a" * 1000, {}, 404),
    ("GET", "/pages/existante/history?limit=abc", {}, 400),
    ("GET", "/pages/existante/history?limit=-1", {}, 400),
    ("GET", "/pages/existante/history?offset=99999999999999", {}, 400),
    ("GET", "/recent?limit=%00", {}, 400),
    ("GET", "/recent?limit=1e9", {}, 400),
    # Unicode digits pass str.isdigit() but not int(): they were a 500 (found with the OpenAPI description).
    ("GET", "/recent?limit=%C2%B2", {}, 400),
    ("GET", "/recent?offset=%E2%91%A0", {}, 400),
    ("GET", "/pages/existante/history?offset=%C2%B9", {}, 400),
    ("GET", "/search?q=existante&limit=%C2%B2", {}, 400),
    ("GET", "/search?q=existante&offset=%C2%B3", {}, 400),
    ("GET", "/contributors/%00", {}, 404),
    ("GET", "/contributors/" + "a" * 300, {}, 404),
    ("DELETE", "/pages/absente", {}, 404),
    ("DELETE", "/pages/Majuscule", {}, 400),
    ("DELETE", "/pages/..%2Fetc", {}, 400),
    ("DELETE", "/pages/existante?base_rev=" + "f" * 40, {}, 409),
    ("POST", "/pages", {"json": {}}, 404),
    ("GET", "/nulle-part", {}, 404),
]


@pytest.mark.parametrize(("method", "url", "kwargs", "status"), HOSTILE,
                         ids=[f"{m} {u[:50]} {str(k)[:40]}" for m, u, k, _ in HOSTILE])
def test_hostile_requests_get_a_json_error_never_a_500(
    client: FlaskClient, auth: dict[str, str], services: Commons,
    method: str, url: str, kwargs: dict[str, Any], status: int
) -> None:
    put(client, "existante", "# Existante", None, headers=auth)
    before = git_log(services)
    response = client.open(API + url, method=method, headers=auth, **kwargs)
    assert response.status_code < 500
    assert_error(response, status)
    assert git_log(services) == before


# -- description, recent changes, contributors ---------------------------------------------


def test_search_dates_carry_their_offset_and_bad_tokens_are_refused(client: FlaskClient,
                                                                     auth: dict[str, str]) -> None:
    """Found by schemathesis: search results had naive dates, and a bad token was searched as anonymous."""
    put(client, "allocations", "# Allocations\n\nLes allocations familiales.", None, headers=auth)
    hits = client.get(f"{API}/search?q=allocations").get_json()["results"]
    assert [h["path"] for h in hits] == ["allocations"]
    updated = iso(hits[0]["updated"])
    assert updated.utcoffset() is not None and updated.utcoffset().total_seconds() == 0
    page = client.get(f"{API}/pages/allocations").get_json()
    assert updated == datetime.fromisoformat(page["updated"])
    assert_error(client.get(f"{API}/search?q=allocations", headers=bearer("cmn_faux")), 401, "not_logged_in")



def test_openapi_description(client: FlaskClient) -> None:
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    spec = json.loads(response.get_data(as_text=True))
    assert spec["openapi"].startswith("3.")
    assert "/pages/{path}" in spec["paths"]
    assert {"get", "put", "delete"} <= set(spec["paths"]["/pages/{path}"])
    assert "/pages/{path}/history" in spec["paths"]


def test_recent_changes(app: Flask, client: FlaskClient, auth: dict[str, str]) -> None:
    assert client.get(f"{API}/recent").get_json() == {"changes": []}
    first = put(client, "a", "# A", None, "page a", auth).get_json()["rev"]
    second = put(client, "b", "# B", None, "page b", token_for(app, "bob")).get_json()["rev"]
    changes = client.get(f"{API}/recent").get_json()["changes"]
    assert [(c["path"], c["rev"], c["author"], c["summary"]) for c in changes] == [
        ("b", second, "bob", "page b"), ("a", first, "alice", "page a")]
    for change in changes:
        assert set(change) >= {"path", "rev", "author", "date", "summary"}
        iso(change["date"])
    assert [c["rev"] for c in client.get(f"{API}/recent?limit=1").get_json()["changes"]] == [second]


def test_contributor(client: FlaskClient, auth: dict[str, str]) -> None:
    put(client, "a", "# A", None, headers=auth)
    put(client, "b", "# B", None, headers=auth)
    body = client.get(f"{API}/contributors/alice").get_json()
    assert body["name"] == "alice"
    iso(body["joined"])
    assert isinstance(body["contributions"], dict)
    assert body["contributions"]["edits"] == 2
    assert client.get(f"{API}/contributors/Alice").get_json()["name"] == "alice"
    assert_error(client.get(f"{API}/contributors/personne"), 404, "not_found")
