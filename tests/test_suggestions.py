"""Suggestions and review: real git refs, the real SuggestionService, the web forms and the JSON API."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from serving import serve_in_thread

from commons import create_app
from commons.errors import BadRequest, Conflict, NotLoggedIn
from commons.pages import identity_for
from commons.services import Commons
from commons.suggestions import REF_PREFIX
from tests.conftest import FAST_PASSWORDS, add_user, csrf_token, logged_in

API = "/-/api/v1"
BASE = "# Guide\n\nun\ndeux\ntrois\n"


def git(services: Commons, *args: str) -> str:
    return subprocess.run(["git", f"--git-dir={services.settings.repo_dir}", *args], capture_output=True, text=True,
                          check=True).stdout


def last_commit(services: Commons) -> str:
    """``author|message`` of the branch's last commit, as ``git log -1 --format='%an|%B'`` prints it."""
    return git(services, "log", "-1", "--format=%an|%B", services.store.ref).strip()


@pytest.fixture
def base_rev(services: Commons) -> str:
    return services.pages.save("guide", BASE, "base", None, identity_for("admin")).rev


def suggest_form(client: FlaskClient, path: str, markdown: str, base_rev: str, summary: str = "") -> object:
    token = csrf_token(client, f"/-/suggest/{path}")
    return client.post(f"/-/suggest/{path}", data={"markdown": markdown, "summary": summary, "base_rev": base_rev,
                                                    "csrf_token": token})


# -- the service ----------------------------------------------------------------------------


def test_a_suggestion_is_a_commit_outside_the_branch(services: Commons, base_rev: str) -> None:
    ident = services.suggestions.suggest("guide", BASE.replace("deux", "DEUX"), "majuscules", base_rev, "alice")
    commit = services.store.refs(REF_PREFIX)[REF_PREFIX + ident]
    assert services.store.head() == base_rev  # the branch did not move
    assert git(services, "log", "-1", "--format=%P|%an <%ae>|%s", commit).strip() == \
        f"{base_rev}|alice <alice@users.noreply.commons>|majuscules"
    assert services.pages.get("guide").markdown == BASE
    found = services.suggestions.get(ident)
    assert (found.status, found.path, found.author, found.base_markdown) == ("open", "guide", "alice", BASE)
    assert "DEUX" in found.markdown and [s.id for s in services.suggestions.list("open")] == [ident]


def test_accept_keeps_the_suggester_as_author_and_names_the_reviewer(services: Commons, base_rev: str) -> None:
    ident = services.suggestions.suggest("guide", BASE.replace("deux", "DEUX"), "majuscules", base_rev, "alice")
    result = services.suggestions.accept(ident, "bob")
    assert last_commit(services) == "alice|majuscules\n\nReviewed-by: bob <bob@users.noreply.commons>"
    assert result.rev == services.store.head() and "DEUX" in services.pages.get("guide").markdown
    assert services.store.refs(REF_PREFIX) == {}
    done = services.suggestions.get(ident)
    assert (done.status, done.reviewer, done.rev) == ("accepted", "bob", result.rev)
    profile = services.contributions.person("bob")
    assert profile is not None and profile.reviews == 1  # the trailer credits the reviewer
    with pytest.raises(Conflict):
        services.suggestions.accept(ident, "bob")


def test_accept_merges_what_changed_since_the_base(services: Commons, base_rev: str) -> None:
    ident = services.suggestions.suggest("guide", BASE.replace("trois", "TROIS"), "fin", base_rev, None)
    services.pages.save("guide", BASE.replace("un", "UN"), "début", base_rev, identity_for("carole"))
    outcome = services.suggestions.outcome(services.suggestions.get(ident))
    assert outcome.clean and "UN" in outcome.result and "TROIS" in outcome.result
    assert services.suggestions.accept(ident, "bob").merged
    assert services.pages.get("guide").markdown == "# Guide\n\nUN\ndeux\nTROIS\n"
    assert last_commit(services).startswith("anonyme|fin")


def test_a_conflicting_suggestion_stays_open(services: Commons, base_rev: str) -> None:
    ident = services.suggestions.suggest("guide", BASE.replace("deux", "2"), "chiffre", base_rev, "alice")
    services.pages.save("guide", BASE.replace("deux", "II"), "romain", base_rev, identity_for("carole"))
    assert not services.suggestions.outcome(services.suggestions.get(ident)).clean
    head = services.store.head()
    with pytest.raises(Conflict):
        services.suggestions.accept(ident, "bob")
    assert services.store.head() == head and services.suggestions.get(ident).status == "open"
    assert REF_PREFIX + ident in services.store.refs(REF_PREFIX)


def test_decline_keeps_the_reason_and_drops_the_ref(services: Commons, base_rev: str) -> None:
    ident = services.suggestions.suggest("guide", BASE + "pub\n", "ajout", base_rev, "alice")
    with pytest.raises(BadRequest):
        services.suggestions.decline(ident, "bob", "  ")
    declined = services.suggestions.decline(ident, "bob", "Publicité.")
    assert (declined.status, declined.reason, declined.reviewer) == ("declined", "Publicité.", "bob")
    assert services.store.refs(REF_PREFIX) == {} and services.store.head() == base_rev
    assert [s.id for s in services.suggestions.list(None, account="alice")] == [ident]


def test_a_new_page_can_be_suggested(services: Commons, base_rev: str) -> None:
    ident = services.suggestions.suggest("guides/apl", "# APL\n", None, None, "alice")
    assert services.suggestions.get(ident).creating
    services.suggestions.accept(ident, "bob")
    assert services.pages.get("guides/apl").markdown == "# APL\n"
    assert last_commit(services).startswith("alice|Proposition de créer guides/apl")
    with pytest.raises(Conflict):  # it exists now: a suggestion must start from its text
        services.suggestions.suggest("guides/apl", "# Autre\n", None, None, "alice")


def test_the_base_must_be_on_the_branch(services: Commons, base_rev: str) -> None:
    ident = services.suggestions.suggest("guide", BASE + "x\n", None, base_rev, "alice")
    hidden = services.store.refs(REF_PREFIX)[REF_PREFIX + ident]
    with pytest.raises(BadRequest):
        services.suggestions.suggest("guide", BASE + "y\n", None, hidden, "alice")
    with pytest.raises(BadRequest):
        services.suggestions.suggest("guide", BASE + "y\n", None, "not a sha", "alice")


def test_anonymous_suggestions_follow_the_setting(services: Commons, base_rev: str) -> None:
    from commons.config import load_settings
    from commons.services import open_commons

    closed = open_commons(load_settings(services.settings.data_dir, {**FAST_PASSWORDS, "anonymous_suggestions": False},
                                        environ={}))
    try:
        with pytest.raises(NotLoggedIn):
            closed.suggestions.suggest("guide", BASE + "x\n", None, base_rev, None)
        assert closed.suggestions.suggest("guide", BASE + "x\n", None, base_rev, "alice")
    finally:
        closed.close()
    ident = services.suggestions.suggest("guide", BASE + "x\n", None, base_rev, None)
    assert git(services, "log", "-1", "--format=%an <%ae>", REF_PREFIX + ident).strip() == \
        "anonyme <anonyme@users.noreply.commons>"


# -- git over HTTP never shows them ----------------------------------------------------------


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    with serve_in_thread(app) as url:
        yield url + "/-/git"


def test_a_clone_over_http_has_no_suggestion_ref(services: Commons, base_rev: str, served: str,
                                                  tmp_path: Path) -> None:
    ident = services.suggestions.suggest("guide", BASE + "secret\n", None, base_rev, None)
    commit = services.store.refs(REF_PREFIX)[REF_PREFIX + ident]
    env = {"GIT_TERMINAL_PROMPT": "0", "PATH": "/usr/bin:/bin:/usr/local/bin", "GIT_CONFIG_NOSYSTEM": "1",
           "HOME": str(tmp_path)}
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--mirror", served, str(clone)], env=env, check=True, timeout=60)
    refs = subprocess.run(["git", "for-each-ref", "--format=%(refname)"], cwd=clone, env=env, capture_output=True,
                          text=True, check=True).stdout.split()
    assert refs == ["refs/heads/main"]
    missing = subprocess.run(["git", "cat-file", "-e", commit], cwd=clone, env=env, capture_output=True)
    assert missing.returncode != 0


# -- the web ------------------------------------------------------------------------------


def test_protected_page_refuses_direct_save_but_accepts_a_suggestion(app: Flask, services: Commons,
                                                                     base_rev: str) -> None:
    services.protections.protect("guide", "maintainer", "admin")
    alice = logged_in(app, "alice", "contributor")
    offered = alice.get("/-/edit/guide")
    assert offered.status_code == 303 and offered.headers["Location"].startswith("/-/suggest/guide")
    form = alice.get("/-/suggest/guide").get_data(as_text=True)
    assert 'action="/-/suggest/guide"' in form and "Proposer cette modification" in form and base_rev in form
    refused = alice.post("/-/edit/guide", data={"markdown": BASE + "x\n", "base_rev": base_rev,
                                                 "csrf_token": csrf_token(alice, "/-/login")})
    assert refused.status_code == 403 and services.store.head() == base_rev
    sent = suggest_form(alice, "guide", BASE.replace("deux", "DEUX"), base_rev, "majuscules")
    assert sent.status_code == 303  # type: ignore[attr-defined]
    ident = sent.headers["Location"].split("/-/suggestions/")[1].split("?")[0]  # type: ignore[attr-defined]
    confirmation = alice.get(sent.headers["Location"]).get_data(as_text=True)  # type: ignore[attr-defined]
    assert ident in confirmation and "Merci" in confirmation
    bob = logged_in(app, "bob", "maintainer")
    assert "(1 en attente)" in bob.get("/").get_data(as_text=True)  # the header shows the queue
    accepted = bob.post(f"/-/review/{ident}/accept", data={"csrf_token": csrf_token(bob, "/-/review")})
    assert accepted.status_code == 303 and accepted.headers["Location"] == "/guide"
    assert last_commit(services) == "alice|majuscules\n\nReviewed-by: bob <bob@users.noreply.commons>"
    assert "DEUX" in services.pages.get("guide").markdown


def test_readers_and_visitors_suggest_and_follow_their_suggestions(app: Flask, client: FlaskClient,
                                                                    services: Commons, base_rev: str) -> None:
    rita = logged_in(app, "rita", "reader")
    assert rita.get("/-/edit/guide").headers["Location"].startswith("/-/suggest/guide")
    assert "Proposer une modification" in rita.get("/guide").get_data(as_text=True)
    assert suggest_form(rita, "guide", BASE + "rita\n", base_rev).status_code == 303  # type: ignore[attr-defined]
    visitor = suggest_form(client, "guide", BASE + "visiteur\n", base_rev)
    assert visitor.status_code == 303  # type: ignore[attr-defined]
    authors = {s.author: s for s in services.suggestions.list("open")}
    assert set(authors) == {"rita", "anonyme"} and authors["anonyme"].account is None
    mine = client.get("/-/suggestions/mine").get_data(as_text=True)
    assert authors["anonyme"].id in mine and authors["rita"].id not in mine
    assert app.test_client().get(f"/-/suggestions/{authors['anonyme'].id}").status_code == 404  # another browser
    assert rita.get(f"/-/suggestions/{authors['anonyme'].id}").status_code == 404


def test_visitors_may_not_suggest_when_it_is_off(services: Commons, base_rev: str) -> None:
    app = create_app({"data_dir": services.settings.data_dir, "anonymous_suggestions": False, **FAST_PASSWORDS})
    client = app.test_client()
    assert "/-/login" in client.get("/-/suggest/guide").headers["Location"]
    assert "/-/login" in client.get("/-/edit/guide").headers["Location"]
    token = csrf_token(client, "/-/login")
    assert client.post("/-/suggest/guide", data={"markdown": BASE + "x\n", "base_rev": base_rev,
                                                  "csrf_token": token}).status_code == 401
    assert client.post(f"{API}/pages/guide/suggestions", json={"markdown": "# X\n"}).status_code == 401
    assert services.suggestions.count() == 0
    app.extensions["commons"].close()


def test_contributors_may_choose_to_suggest(app: Flask, client: FlaskClient, contributor: str, base_rev: str) -> None:
    form = client.get("/-/edit/guide").get_data(as_text=True)
    assert "Enregistrer" in form and 'formaction="/-/suggest/guide"' in form


def test_conflict_and_decline_on_the_review_page(app: Flask, services: Commons, base_rev: str) -> None:
    alice = logged_in(app, "alice", "reader")
    suggest_form(alice, "guide", BASE.replace("deux", "2"), base_rev, "chiffre")
    suggest_form(alice, "guide", BASE + "pub\n", base_rev, "pub")
    older, newer = sorted(services.suggestions.list("open"), key=lambda s: s.created)
    services.pages.save("guide", BASE.replace("deux", "II"), "romain", base_rev, identity_for("carole"))
    bob = logged_in(app, "bob", "maintainer")
    queue = bob.get("/-/review").get_data(as_text=True)
    assert queue.index(newer.id) < queue.index(older.id) and 'class="diff"' in queue and "conflit" in queue
    token = csrf_token(bob, "/-/review")
    conflict = bob.post(f"/-/review/{older.id}/accept", data={"csrf_token": token})
    assert conflict.status_code == 409 and services.suggestions.get(older.id).status == "open"
    assert bob.post(f"/-/review/{newer.id}/decline", data={"csrf_token": token}).status_code == 400
    assert bob.post(f"/-/review/{newer.id}/decline", data={"csrf_token": token, "reason": "Hors sujet."}) \
        .status_code == 303
    assert bob.post(f"/-/review/{older.id}/decline", data={"reason": "x"}).status_code == 400  # no CSRF token
    mine = alice.get("/-/suggestions/mine").get_data(as_text=True)
    assert "Hors sujet." in mine and "refusée" in mine
    assert "Hors sujet." in alice.get(f"/-/suggestions/{newer.id}").get_data(as_text=True)
    assert alice.post(f"/-/review/{older.id}/accept", data={"csrf_token": csrf_token(alice, "/-/login")}) \
        .status_code == 403


# -- the API ------------------------------------------------------------------------------


def bearer(app: Flask, name: str, role: str) -> dict[str, str]:
    add_user(app, name, role)
    return {"Authorization": f"Bearer {app.extensions['commons'].accounts.new_token(name)}"}


def test_api_shapes_and_roles(app: Flask, client: FlaskClient, services: Commons, base_rev: str) -> None:
    alice, rita, bob = bearer(app, "alice", "contributor"), bearer(app, "rita", "reader"), bearer(app, "bob",
                                                                                                    "maintainer")
    made = client.post(f"{API}/pages/guide/suggestions", headers=alice,
                       json={"markdown": BASE.replace("un", "UN"), "summary": "maj", "base_rev": base_rev})
    assert made.status_code == 201 and set(made.get_json()) == {"id"}
    ident = made.get_json()["id"]
    anonymous = client.post(f"{API}/pages/guide/suggestions", json={"markdown": BASE + "x\n", "base_rev": base_rev})
    assert anonymous.status_code == 201
    listed = client.get(f"{API}/suggestions?status=open", headers=alice).get_json()["suggestions"]
    assert [s["id"] for s in listed] == [ident]
    assert {"id", "path", "author", "summary", "status"} <= set(listed[0])
    assert (listed[0]["author"], listed[0]["status"], listed[0]["summary"]) == ("alice", "open", "maj")
    assert client.get(f"{API}/suggestions", headers=rita).get_json() == {"suggestions": []}
    assert len(client.get(f"{API}/suggestions", headers=bob).get_json()["suggestions"]) == 2
    assert client.get(f"{API}/suggestions").status_code == 401
    assert client.get(f"{API}/suggestions?status=peut-etre", headers=bob).status_code == 400
    assert client.post(f"{API}/suggestions/{ident}/accept", headers=alice).status_code == 403
    assert client.post(f"{API}/suggestions/{ident}/accept").status_code == 401
    assert client.post(f"{API}/suggestions/0000abcd/accept", headers=bob).status_code == 404
    accepted = client.post(f"{API}/suggestions/{ident}/accept", headers=bob)
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "accepted"
    assert accepted.get_json()["rev"] == services.store.head()
    assert client.post(f"{API}/suggestions/{ident}/accept", headers=bob).status_code == 409
    other = anonymous.get_json()["id"]
    assert client.post(f"{API}/suggestions/{other}/decline", headers=bob, json={}).status_code == 400
    declined = client.post(f"{API}/suggestions/{other}/decline", headers=bob, json={"reason": "Doublon."})
    assert declined.get_json() == {"status": "declined", "rev": None}
    assert client.get(f"{API}/suggestions?status=all", headers=alice).get_json()["suggestions"][0]["status"] == \
        "accepted"


def test_api_conflict_is_409_and_the_suggestion_stays_open(app: Flask, client: FlaskClient, services: Commons,
                                                           base_rev: str) -> None:
    bob = bearer(app, "bob", "maintainer")
    ident = client.post(f"{API}/pages/guide/suggestions",
                        json={"markdown": BASE.replace("deux", "2"), "base_rev": base_rev}).get_json()["id"]
    services.pages.save("guide", BASE.replace("deux", "II"), "romain", base_rev, identity_for("carole"))
    answer = client.post(f"{API}/suggestions/{ident}/accept", headers=bob)
    assert answer.status_code == 409 and answer.get_json()["error"]["code"] == "conflict"
    assert services.suggestions.get(ident).status == "open"
    exists = client.post(f"{API}/pages/guide/suggestions", json={"markdown": "# X\n", "base_rev": None})
    assert exists.status_code == 409 and exists.get_json()["current_rev"] == services.store.head()
    assert client.post(f"{API}/pages/guide/suggestions", json={"markdown": 3}).status_code == 400
    assert client.post(f"{API}/pages/guide/suggestions", json={"markdown": "# X\n", "base_rev": 7}).status_code == 400


def test_openapi_describes_suggestions_and_talk(client: FlaskClient) -> None:
    spec = client.get(f"{API}/openapi.json").get_json()["paths"]
    for path in ("/pages/{path}/suggestions", "/suggestions", "/suggestions/{id}/accept", "/suggestions/{id}/decline",
                 "/pages/{path}/talk"):
        assert path in spec
