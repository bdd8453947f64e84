"""Access, abuse and privacy: the route x role table, limits, headers, registration modes, RGPD rights."""

from __future__ import annotations

import io
import json
import re
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from commons import create_app
from commons.pages import identity_for
from commons.services import Commons
from tests.conftest import FAST_PASSWORDS, PASSWORD, add_user, csrf_token, login, save

ROLES = ["anonymous", "reader", "contributor", "maintainer", "admin"]
RANK = {role: n for n, role in enumerate(ROLES)}

# endpoint -> {method: least role allowed}; every route of the app must be listed here.
ACCESS: dict[str, dict[str, str]] = {
    "pages.home": {"GET": "anonymous"}, "pages.view": {"GET": "anonymous"},
    "pages.all_pages": {"GET": "anonymous"}, "pages.recent": {"GET": "anonymous"},
    "pages.new_page": {"GET": "anonymous"}, "pages.history": {"GET": "anonymous"},
    "pages.diff": {"GET": "anonymous"},
    "pages.edit": {"GET": "anonymous", "POST": "contributor"},  # GET: the suggest form for whoever may not edit
    "pages.delete": {"GET": "contributor", "POST": "contributor"},
    "pages.restore": {"POST": "maintainer"},
    "accounts.login": {"GET": "anonymous", "POST": "anonymous"},
    "accounts.register": {"GET": "anonymous", "POST": "anonymous"},
    "accounts.logout": {"POST": "anonymous"}, "accounts.privacy": {"GET": "anonymous"},
    "accounts.contributor": {"GET": "anonymous"},
    "accounts.profile": {"GET": "reader"}, "accounts.create_token": {"POST": "reader"},
    "accounts.revoke_token": {"POST": "reader"}, "accounts.export_data": {"GET": "reader"},
    "accounts.erase": {"POST": "reader"}, "accounts.rename": {"POST": "reader"},
    "admin.protect": {"POST": "maintainer"},
    "admin.accounts": {"GET": "maintainer"}, "admin.invite": {"POST": "maintainer"},
    "admin.approve": {"POST": "maintainer"}, "admin.role": {"POST": "admin"}, "admin.block": {"POST": "admin"},
    "search.search_page": {"GET": "anonymous"}, "search.search_api": {"GET": "anonymous"},
    "api.list_pages": {"GET": "anonymous"}, "api.get_page": {"GET": "anonymous"},
    "api.put_page": {"PUT": "contributor"}, "api.delete_page": {"DELETE": "contributor"},
    "api.page_history": {"GET": "anonymous"}, "api.recent": {"GET": "anonymous"},
    "api.contributor": {"GET": "anonymous"}, "api.openapi": {"GET": "anonymous"},
    "static": {"GET": "anonymous"},
    # Suggestions and review (visitors may suggest: anonymous_suggestions is on by default), talk pages.
    "suggestions.suggest_form": {"GET": "anonymous"}, "suggestions.suggest": {"POST": "anonymous"},
    "suggestions.show": {"GET": "anonymous"}, "suggestions.mine": {"GET": "anonymous"},
    "suggestions.review": {"GET": "maintainer"}, "suggestions.accept": {"POST": "maintainer"},
    "suggestions.decline": {"POST": "maintainer"},
    "talk.talk": {"GET": "anonymous"}, "talk.post": {"POST": "reader"}, "talk.search": {"GET": "anonymous"},
    "collab_api.create_suggestion": {"POST": "anonymous"}, "collab_api.list_suggestions": {"GET": "reader"},
    "collab_api.accept_suggestion": {"POST": "maintainer"}, "collab_api.decline_suggestion": {"POST": "maintainer"},
    "collab_api.get_talk": {"GET": "anonymous"}, "collab_api.post_talk": {"POST": "reader"},
    # Renames and attachments (issue 7).
    "moves.move": {"GET": "contributor", "POST": "contributor"}, "moves_api.move_api": {"POST": "contributor"},
    "files.serve": {"GET": "anonymous"}, "files.upload": {"POST": "contributor"},
    "files_api.put_file": {"PUT": "contributor"},
    "i18n.choose_language": {"POST": "anonymous"},
    # Sister commons (issue 8): syncs and their conflicts are a maintainer's business.
    "sisters.overview": {"GET": "maintainer"}, "sisters.run": {"POST": "maintainer"},
    "sisters.resolve": {"POST": "maintainer"},
    # Editor: live preview (whoever may edit or suggest; visitors may suggest by default), OpenSearch.
    "editor.preview": {"POST": "anonymous"}, "editor.opensearch": {"GET": "anonymous"},
}
# Routes owned by other rooms, checked by their own tests; listed so that a new route cannot slip through.
ELSEWHERE_PREFIXES = ("credits.", "git.", "links.", "api.unknown", "talk.", "review.", "feeds.")

URLS = {
    "pages.home": "/", "pages.view": "/guide", "pages.all_pages": "/-/pages", "pages.recent": "/-/recent",
    "pages.new_page": "/-/new", "pages.history": "/-/history/guide", "pages.diff": "/-/diff/guide?from={rev}&to={rev}",
    "pages.edit": "/-/edit/guide", "pages.delete": "/-/delete/autre", "pages.restore": "/-/restore/guide",
    "accounts.login": "/-/login", "accounts.register": "/-/register", "accounts.logout": "/-/logout",
    "accounts.privacy": "/-/privacy", "accounts.contributor": "/-/contributors/admin",
    "accounts.profile": "/-/profile", "accounts.create_token": "/-/profile/tokens",
    "accounts.revoke_token": "/-/profile/tokens/999/revoke", "accounts.export_data": "/-/profile/export",
    "accounts.erase": "/-/profile/erase", "accounts.rename": "/-/profile/name",
    "admin.protect": "/-/protect/autre", "admin.accounts": "/-/admin", "admin.invite": "/-/admin/invitations",
    "admin.approve": "/-/admin/accounts/reader/approve", "admin.role": "/-/admin/accounts/reader/role",
    "admin.block": "/-/admin/accounts/nobody/block", "search.search_page": "/-/search?q=guide",
    "search.search_api": "/-/api/v1/search?q=guide", "api.list_pages": "/-/api/v1/pages",
    "api.get_page": "/-/api/v1/pages/guide", "api.put_page": "/-/api/v1/pages/nouvelle",
    "api.delete_page": "/-/api/v1/pages/autre", "api.page_history": "/-/api/v1/pages/guide/history",
    "api.recent": "/-/api/v1/recent", "api.contributor": "/-/api/v1/contributors/admin",
    "api.openapi": "/-/api/v1/openapi.json", "static": "/-/static/commons.css",
    "suggestions.suggest_form": "/-/suggest/guide", "suggestions.suggest": "/-/suggest/nouvelle",
    "suggestions.show": "/-/suggestions/0000abcd", "suggestions.mine": "/-/suggestions/mine",
    "suggestions.review": "/-/review", "suggestions.accept": "/-/review/0000abcd/accept",
    "suggestions.decline": "/-/review/0000abcd/decline",
    "talk.talk": "/-/talk/guide", "talk.post": "/-/talk/guide", "talk.search": "/-/talk?q=guide",
    "collab_api.create_suggestion": "/-/api/v1/pages/nouvelle/suggestions",
    "collab_api.list_suggestions": "/-/api/v1/suggestions",
    "collab_api.accept_suggestion": "/-/api/v1/suggestions/0000abcd/accept",
    "collab_api.decline_suggestion": "/-/api/v1/suggestions/0000abcd/decline",
    "collab_api.get_talk": "/-/api/v1/pages/guide/talk", "collab_api.post_talk": "/-/api/v1/pages/guide/talk",
    "moves.move": "/-/move/autre", "moves_api.move_api": "/-/api/v1/pages/autre/move",
    "files.serve": "/-/files/guide/absent.png", "files.upload": "/-/upload/guide",
    "files_api.put_file": "/-/api/v1/pages/guide/files/plan.png",
    "i18n.choose_language": "/-/lang",
    "sisters.overview": "/-/sync", "sisters.run": "/-/sync",
    "sisters.resolve": "/-/sync/conflicts/soeur/67756964652e6d64",
    "editor.preview": "/-/preview", "editor.opensearch": "/-/opensearch.xml",
}


def test_every_route_is_in_the_access_table(app: Flask) -> None:
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(ELSEWHERE_PREFIXES):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if method not in ACCESS.get(rule.endpoint, {}):
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert not missing, "routes without an expected access level: " + ", ".join(missing)


@pytest.fixture
def table_app(services: Commons) -> Iterator[Flask]:
    services.pages.save("guide", "# Guide\n\ntexte\n", "base", None, identity_for("admin"))
    app = create_app({"data_dir": services.settings.data_dir, "rate_limits": False, **FAST_PASSWORDS})
    for role in ROLES[1:]:
        add_user(app, role, role)
    yield app
    app.extensions["commons"].close()


# Logging in and registering answer 401/4xx by design for bad input: their own tests cover them.
OWN_TESTS = {("accounts.login", "POST"), ("accounts.register", "POST")}
CASES = [(endpoint, method, role) for endpoint, methods in ACCESS.items() for method in methods for role in ROLES
         if (endpoint, method) not in OWN_TESTS]


@pytest.mark.parametrize(("endpoint", "method", "role"), CASES, ids=[f"{e}-{m}-{r}" for e, m, r in CASES])
def test_route_role_table(table_app: Flask, endpoint: str, method: str, role: str) -> None:
    services: Commons = table_app.extensions["commons"]
    services.pages.save("autre", "# Autre\n", "x", None, identity_for("admin"))
    client = table_app.test_client()
    if role != "anonymous":
        login(client, role)
    rev = services.pages.state("guide").rev  # type: ignore[union-attr]
    url = URLS[endpoint].format(rev=rev)
    headers = {"X-CSRFToken": csrf_token(client, "/-/login")}
    data = {"csrf_token": headers["X-CSRFToken"], "markdown": "# Guide\n\nneuf\n", "rev": rev, "role": "contributor",
            "blocked": "1", "password": "faux mot de passe"}
    if method == "GET":
        response = client.get(url)
    elif endpoint.startswith(("api.", "collab_api.")):
        response = client.open(url, method=method, json={"markdown": "# Nouvelle\n"}, headers=headers)
    else:
        response = client.open(url, method=method, data=data)
    allowed = RANK[role] >= RANK[ACCESS[endpoint][method]]
    if allowed:
        assert response.status_code not in (401, 403) and not _to_login(response), response.status_code
        assert response.status_code < 500
    elif role == "anonymous":
        assert response.status_code == 401 or _to_login(response), response.status_code
    else:
        assert response.status_code == 403, response.status_code


def _to_login(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == 302 and "/-/login" in response.headers.get("Location", "")


def test_security_headers_on_html_json_and_static(client: FlaskClient) -> None:
    for url in ("/-/pages", "/-/api/v1/pages", "/-/static/commons.css", "/page-absente"):
        headers = client.get(url).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert "unsafe-inline" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


def test_private_pages_are_not_cached(app: Flask, client: FlaskClient, contributor: str) -> None:
    assert "no-store" in client.get("/-/profile").headers["Cache-Control"]


def test_failed_logins_answer_429_with_retry_after(client: FlaskClient, app: Flask) -> None:
    add_user(app, "victime")
    token = csrf_token(client)
    statuses = [client.post("/-/login", data={"username": "victime", "password": "mauvais-mot",
                                              "csrf_token": token}).status_code for _ in range(11)]
    assert statuses[:10] == [401] * 10
    blocked = client.post("/-/login", data={"username": "victime", "password": PASSWORD, "csrf_token": token})
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "réessayez" in blocked.get_data(as_text=True)


def test_pages_reference_no_external_host(app: Flask, client: FlaskClient, services: Commons) -> None:
    services.add_demo()
    for url in ("/", "/guides/rsa", "/-/pages", "/-/login", "/-/register", "/-/search?q=rsa", "/-/history/guides/rsa"):
        html = client.get(url).get_data(as_text=True)
        for tag in re.findall(r'<(?:link|script|img|iframe|source|video|audio)\b[^>]*>', html):
            for url in re.findall(r'(?:src|href)="([^"]*)"', tag):
                assert url.startswith("/") and not url.startswith("//"), tag


def _register(client: FlaskClient, name: str, **extra: str) -> object:
    data = {"username": name, "password": PASSWORD, "password2": PASSWORD, "csrf_token": csrf_token(client, "/-/login")}
    data.update(extra)
    return client.post("/-/register", data=data)


def _app(services: Commons, **settings: object) -> Flask:
    return create_app({"data_dir": services.settings.data_dir, **FAST_PASSWORDS, **settings})


def test_registration_closed_refuses_after_the_first_account(services: Commons) -> None:
    app = _app(services, registration="closed")
    assert _register(app.test_client(), "fondatrice").status_code == 303  # type: ignore[attr-defined]
    refused = _register(app.test_client(), "autre")
    assert refused.status_code == 403  # type: ignore[attr-defined]
    assert app.extensions["commons"].accounts.by_name("autre") is None


def test_registration_with_approval_waits_for_a_maintainer(services: Commons) -> None:
    app = _app(services, registration="approval")
    add_user(app, "mainteneuse", "maintainer")
    response = _register(app.test_client(), "nouvelle")
    assert response.status_code == 202 and "validé" in response.get_data(as_text=True)  # type: ignore[attr-defined]
    client = app.test_client()
    refused = client.post("/-/login", data={"username": "nouvelle", "password": PASSWORD,
                                            "csrf_token": csrf_token(client)})
    assert refused.status_code == 401
    maintainer = app.test_client()
    login(maintainer, "mainteneuse")
    assert "en attente" in maintainer.get("/-/admin").get_data(as_text=True)
    maintainer.post("/-/admin/accounts/nouvelle/approve", data={"csrf_token": csrf_token(maintainer, "/-/admin")})
    login(client, "nouvelle")
    assert client.get("/-/profile").status_code == 200


def test_registration_by_invitation_uses_each_code_once(services: Commons) -> None:
    app = _app(services, registration="invitation")
    add_user(app, "mainteneuse", "maintainer")
    maintainer = app.test_client()
    login(maintainer, "mainteneuse")
    page = maintainer.post("/-/admin/invitations", data={"csrf_token": csrf_token(maintainer, "/-/admin")})
    code = re.search(r"(inv_[\w-]+)", page.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    assert _register(app.test_client(), "sans-code", invitation="inv_faux").status_code == 403  # type: ignore[attr-defined]
    assert _register(app.test_client(), "invitee", invitation=code).status_code == 303  # type: ignore[attr-defined]
    assert _register(app.test_client(), "seconde", invitation=code).status_code == 403  # type: ignore[attr-defined]
    database = (services.settings.data_dir / "commons.db").read_bytes()
    assert code.encode() not in database


def test_admin_blocks_an_account_whose_edits_stay(app: Flask, client: FlaskClient, services: Commons) -> None:
    add_user(app, "chef", "admin")
    add_user(app, "spammeur", "contributor")
    services.pages.save("guide", "# Guide\n", "x", None, identity_for("spammeur"))
    token = services.accounts.new_token("spammeur")
    login(client, "chef")
    client.post("/-/admin/accounts/spammeur/block", data={"blocked": "1", "csrf_token": csrf_token(client, "/-/admin")})
    refused = app.test_client().put("/-/api/v1/pages/x", json={"markdown": "# X"},
                                    headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401
    assert services.pages.get("guide").author == "spammeur"


def test_maintainer_cannot_change_roles(app: Flask, client: FlaskClient) -> None:
    add_user(app, "mainteneuse", "maintainer")
    add_user(app, "lectrice", "reader")
    login(client, "mainteneuse")
    response = client.post("/-/admin/accounts/lectrice/role",
                           data={"role": "admin", "csrf_token": csrf_token(client, "/-/admin")})
    assert response.status_code == 403
    assert app.extensions["commons"].accounts.by_name("lectrice").role == "reader"


def test_export_my_data_is_a_zip_of_my_account_and_contributions(app: Flask, client: FlaskClient,
                                                                  contributor: str) -> None:
    services: Commons = app.extensions["commons"]
    services.pages.save("guide", "# Guide\n", "ma contribution", None, identity_for("alice"))
    response = client.get("/-/profile/export")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert set(archive.namelist()) == {"compte.json", "jetons.json", "contributions.json", "LISEZMOI.md"}
    assert json.loads(archive.read("compte.json"))["username"] == "alice"
    assert json.loads(archive.read("contributions.json"))[0]["summary"] == "ma contribution"
    assert b"argon2" not in response.data


def test_erasing_my_account_keeps_contributions_under_a_pseudonym(app: Flask, client: FlaskClient,
                                                                   contributor: str) -> None:
    services: Commons = app.extensions["commons"]
    services.pages.save("guide", "# Guide\n", "écrit par alice", None, identity_for("alice"))
    me = services.accounts.by_name("alice")
    wrong = client.post("/-/profile/erase",
                        data={"password": "pas le bon", "csrf_token": csrf_token(client, "/-/profile")})
    assert wrong.status_code == 400 and services.accounts.by_name("alice").erased is False  # type: ignore[union-attr]
    done = client.post("/-/profile/erase",
                       data={"password": PASSWORD, "csrf_token": csrf_token(client, "/-/profile")})
    assert done.status_code == 303
    history = app.test_client().get("/-/history/guide").get_data(as_text=True)
    assert f"ancien contributeur n°{me.id}" in history  # type: ignore[union-attr]
    assert services.pages.get("guide").markdown == "# Guide\n"
    again = app.test_client()
    refused = again.post("/-/login", data={"username": "alice", "password": PASSWORD, "csrf_token": csrf_token(again)})
    assert refused.status_code == 401


def test_no_password_token_or_email_in_clear_in_the_data_or_history(app: Flask, services: Commons) -> None:
    add_user(app, "alice")
    token = services.accounts.new_token("alice")
    services.pages.save("guide", "# Guide\n", "x", None, identity_for("alice"))
    for file in Path(services.settings.data_dir).rglob("*"):
        if file.is_file():
            content = file.read_bytes()
            assert PASSWORD.encode() not in content, file
            assert token.encode() not in content, file
    log = subprocess.run(["git", f"--git-dir={services.settings.repo_dir}", "log", "--all", "--format=%ae %ce"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert log and all(address.endswith("@users.noreply.commons") for address in log)


def test_protected_page_refuses_contributors_and_says_so(app: Flask, client: FlaskClient, services: Commons) -> None:
    add_user(app, "mainteneuse", "maintainer")
    add_user(app, "alice", "contributor")
    rev = services.pages.save("guides/rsa", "# RSA\n", "x", None, identity_for("mainteneuse")).rev
    services.pages.save("guides/apl", "# APL\n", "x", None, identity_for("mainteneuse"))
    login(client, "mainteneuse")
    client.post("/-/protect/guides/rsa", data={"role": "maintainer", "folder": "1",
                                               "csrf_token": csrf_token(client, "/guides/rsa")})
    alice = app.test_client()
    login(alice, "alice")
    page = alice.get("/guides/apl").get_data(as_text=True)
    assert "Page protégée" in page and "guides/" in page
    refused = alice.post("/-/edit/guides/rsa", data={"markdown": "# Vandalisme\n", "base_rev": rev,
                                                      "csrf_token": csrf_token(alice, "/-/login")})
    assert refused.status_code == 403 and "protégée" in refused.get_data(as_text=True)
    token = services.accounts.new_token("alice")
    api = alice.put("/-/api/v1/pages/guides/apl", json={"markdown": "# X\n", "base_rev": None},
                    headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 403
    assert services.pages.get("guides/rsa").markdown == "# RSA\n"
    assert save(client, "guides/rsa", "# RSA revu\n", base_rev=rev).status_code == 303  # type: ignore[attr-defined]
    client.post("/-/protect/guides/rsa", data={"role": "contributor", "folder": "1",
                                               "csrf_token": csrf_token(client, "/guides/rsa")})
    assert "Page protégée" not in alice.get("/guides/apl").get_data(as_text=True)


def test_logout_ends_copied_sessions(app: Flask, client: FlaskClient, contributor: str) -> None:
    copied = app.test_client()
    cookie = client.get_cookie("session")
    assert cookie is not None
    copied.set_cookie("session", cookie.value)
    assert copied.get("/-/profile").status_code == 200
    client.post("/-/logout", data={"csrf_token": csrf_token(client, "/-/profile")})
    assert copied.get("/-/profile").status_code == 302


def test_display_name_changes_everywhere_without_touching_history(app: Flask, client: FlaskClient,
                                                                   contributor: str) -> None:
    services: Commons = app.extensions["commons"]
    services.pages.save("guide", "# Guide\n", "x", None, identity_for("alice"))
    client.post("/-/profile/name",
                data={"display_name": "Alice Martin", "csrf_token": csrf_token(client, "/-/profile")})
    assert "Alice Martin" in client.get("/-/history/guide").get_data(as_text=True)
    assert services.pages.get("guide").author == "alice"
    bad = client.post("/-/profile/name",
                      data={"display_name": "x\u0000y", "csrf_token": csrf_token(client, "/-/profile")})
    assert bad.status_code == 400
