"""Renaming pages and folders: history follows, links are rewritten in the same commit, old URLs redirect."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import add_user, csrf_token
from flask import Flask
from flask.testing import FlaskClient

from commons.errors import BadRequest, Conflict, InvalidPath, NotFound
from commons.pages import identity_for
from commons.rewrite import rewrite_links
from commons.services import Commons

API = "/-/api/v1"
ALICE = identity_for("alice")
LONG = "\n\n".join(f"Paragraphe {i} : de quoi remplir un vrai guide pratique, avec ses démarches." for i in range(8))


def head(services: Commons) -> str:
    found = services.store.head()
    assert found is not None
    return found


def git(services: Commons, *args: str) -> str:
    return subprocess.run(["git", f"--git-dir={services.settings.repo_dir}", *args],
                          capture_output=True, text=True, check=True).stdout


@pytest.fixture
def guides(services: Commons) -> Commons:
    """``guides/rsa`` (three revisions), ``guides/caf`` linking to it, ``home`` linking to it, ``autre``."""
    pages = services.pages
    rev = pages.save("guides/rsa", f"# RSA\n\n{LONG}\n", "création", None, ALICE).rev
    rev = pages.save("guides/rsa", f"# RSA\n\n{LONG}\n\nMontants 2024.\n", "montants", rev, ALICE).rev
    pages.save("guides/rsa", f"# RSA\n\n{LONG}\n\nMontants 2025.\n", "montants 2025", rev, identity_for("bob"))
    pages.save("guides/caf", "# CAF\n\nVoir [[Guides/RSA]] et [le RSA](rsa.md#montants) ; `[[guides/rsa]]` reste.\n",
               "caf", None, ALICE)
    pages.save("home", "# Accueil\n\n- [[guides/rsa|Le RSA]]\n- [RSA](/guides/rsa)\n- [[guides/caf]]\n",
               "accueil", None, ALICE)
    pages.save("autre", "# Autre\n\nRien à voir.\n", "autre", None, ALICE)
    return services


# -- the service ----------------------------------------------------------------------------


def test_rename_keeps_history(guides: Commons) -> None:
    pages = guides.pages
    before, count = pages.revisions("guides/rsa")
    result = pages.move("guides/rsa", "aides/revenu-solidarite", before[0].rev, ALICE)
    after, total = pages.revisions("aides/revenu-solidarite")
    assert count == 3 and total == count + 1  # every revision made under the old name, then the move itself
    assert [r.rev for r in after[1:]] == [r.rev for r in before]
    assert (after[0].op, after[0].old_path, after[0].rev) == ("R", "guides/rsa", result.rev)
    assert not pages.exists("guides/rsa") and pages.exists("aides/revenu-solidarite")
    assert pages.get("aides/revenu-solidarite").markdown.endswith("Montants 2025.\n")


def test_rename_rewrites_links_in_the_same_commit(guides: Commons) -> None:
    parent = head(guides)
    result = guides.pages.move("guides/rsa", "aides/revenu-solidarite", None, ALICE)
    assert git(guides, "rev-list", "--count", f"{parent}..{result.rev}").strip() == "1"
    assert git(guides, "rev-parse", f"{result.rev}^").strip() == parent
    assert result.rewritten == ["guides/caf", "home"] and result.moved == {"guides/rsa": "aides/revenu-solidarite"}
    caf = guides.pages.get("guides/caf").markdown
    assert "[[aides/revenu-solidarite|Guides/RSA]]" in caf  # the label shown before is kept
    assert "[le RSA](../aides/revenu-solidarite.md#montants)" in caf
    assert "`[[guides/rsa]]`" in caf  # code is left alone
    home = guides.pages.get("home").markdown
    assert "[[aides/revenu-solidarite|Le RSA]]" in home and "[RSA](/aides/revenu-solidarite)" in home
    assert guides.pages.get("autre").rev != result.rev  # untouched pages are not rewritten
    assert guides.links.linked_from("aides/revenu-solidarite") == ["guides/caf", "home"]
    assert "guides/rsa" not in {w.path for w in guides.links.wanted()}


def test_history_table_records_the_move_as_r(guides: Commons) -> None:
    result = guides.pages.move("guides/rsa", "aides/rsa", None, ALICE, "nouveau dossier")
    row = guides.history.revision("aides/rsa", result.rev)
    assert row is not None and (row.op, row.old_path, row.summary) == ("R", "guides/rsa", "nouveau dossier")
    assert guides.history.redirect("guides/rsa") == "aides/rsa"


def test_old_revisions_and_diffs_across_the_move(guides: Commons) -> None:
    first = guides.pages.revisions("guides/rsa")[0][-1]
    result = guides.pages.move("guides/rsa", "aides/rsa", None, ALICE)
    old = guides.pages.get("aides/rsa", first.rev)
    assert old.markdown == f"# RSA\n\n{LONG}\n" and old.rev == first.rev and old.author == "alice"
    before, after, diff = guides.pages.diff("aides/rsa", first.rev, result.rev)
    assert before is not None and after is not None
    assert "Montants 2025." in after.markdown and "Montants" not in before.markdown
    assert guides.history.lineage_revision("aides/rsa", first.rev) is not None


def test_move_onto_an_existing_page_is_a_conflict(guides: Commons) -> None:
    with pytest.raises(Conflict) as caught:
        guides.pages.move("guides/rsa", "autre", None, ALICE)
    assert caught.value.status == 409
    assert guides.pages.exists("guides/rsa")


@pytest.mark.parametrize("target", ["../x", "Guides/RSA", "a//b", "-x", "x.md", ""])
def test_invalid_names_are_refused(guides: Commons, target: str) -> None:
    with pytest.raises(InvalidPath):
        guides.pages.move("guides/rsa", target, None, ALICE)


def test_moves_that_make_no_sense(guides: Commons) -> None:
    with pytest.raises(BadRequest):
        guides.pages.move("guides/rsa", "guides/rsa", None, ALICE)
    with pytest.raises(BadRequest):
        guides.pages.move("home", "accueil", None, ALICE)
    with pytest.raises(BadRequest):
        guides.pages.move("guides", "guides/vieux", None, ALICE, folder=True)
    with pytest.raises(NotFound):
        guides.pages.move("nulle-part", "ailleurs", None, ALICE)


def test_stale_base_rev_is_a_conflict(guides: Commons) -> None:
    first = guides.pages.revisions("guides/rsa")[0][-1].rev
    with pytest.raises(Conflict):
        guides.pages.move("guides/rsa", "aides/rsa", first, ALICE)


def test_folder_move(guides: Commons) -> None:
    pages = guides.pages
    pages.save("guides/droits/apl", "# APL\n\nVoir [la CAF](../caf.md) et [[./../rsa]].\n", "apl", None, ALICE)
    parent = head(guides)
    result = pages.move("guides", "fiches", None, ALICE, folder=True)
    assert git(guides, "rev-parse", f"{result.rev}^").strip() == parent
    assert result.moved == {"guides/rsa": "fiches/rsa", "guides/caf": "fiches/caf",
                            "guides/droits/apl": "fiches/droits/apl"}
    assert [p.path for p in pages.list_pages("guides")] == []
    assert pages.revisions("fiches/rsa")[1] == 4
    assert "[la CAF](../caf.md)" in pages.get("fiches/droits/apl").markdown  # relative links inside still work
    assert "[[fiches/rsa|Guides/RSA]]" in pages.get("fiches/caf").markdown
    assert "[RSA](/fiches/rsa)" in pages.get("home").markdown
    assert {guides.history.redirect(p) for p in result.moved} == set(result.moved.values())
    with pytest.raises(NotFound):
        pages.move("guides", "ailleurs", None, ALICE, folder=True)


def test_a_page_re_created_at_the_old_name_wins_over_the_redirect(guides: Commons) -> None:
    guides.pages.move("guides/rsa", "aides/rsa", None, ALICE)
    assert guides.pages.redirect("guides/rsa") == "aides/rsa"
    guides.pages.save("guides/rsa", "# Nouvelle page\n", "recréée", None, ALICE)
    assert guides.pages.redirect("guides/rsa") is None
    assert guides.pages.revisions("guides/rsa")[1] == 4  # its own history: three old edits, then the creation


def test_chained_moves_are_followed(guides: Commons) -> None:
    guides.pages.move("guides/rsa", "a/rsa", None, ALICE)
    guides.pages.move("a/rsa", "b/rsa", None, ALICE)
    assert guides.pages.redirect("guides/rsa") == "b/rsa"
    assert guides.pages.revisions("b/rsa")[1] == 5
    guides.pages.move("b/rsa", "guides/rsa", None, ALICE)  # and back again
    assert guides.pages.redirect("guides/rsa") is None and guides.pages.redirect("a/rsa") == "guides/rsa"
    assert guides.pages.revisions("guides/rsa")[1] == 6


def test_a_short_page_whose_own_links_change_is_still_a_rename(services: Commons) -> None:
    services.pages.save("a/p", "# P\n\n[q](q.md)\n", "p", None, ALICE)
    services.pages.save("a/q", "# Q\n", "q", None, ALICE)
    result = services.pages.move("a/p", "b/p", None, ALICE)
    assert services.pages.get("b/p").markdown == "# P\n\n[q](../a/q.md)\n"
    assert "Renamed: a/p.md -> b/p.md" in git(services, "log", "-1", "--format=%B", result.rev)
    revisions, total = services.pages.revisions("b/p")
    assert total == 2 and revisions[0].op == "R"


def test_rebuild_keeps_renames(guides: Commons) -> None:
    guides.pages.move("guides/rsa", "aides/rsa", None, ALICE)
    before = [(r.rev, r.op, r.old_path) for r in guides.pages.revisions("aides/rsa")[0]]
    guides.reindex()
    assert [(r.rev, r.op, r.old_path) for r in guides.pages.revisions("aides/rsa")[0]] == before
    assert guides.history.redirect("guides/rsa") == "aides/rsa"


def test_git_mv_made_outside_is_detected_by_catch_up(guides: Commons, tmp_path: Path) -> None:
    work = tmp_path / "clone"
    env = {**os.environ, "GIT_AUTHOR_NAME": "carol", "GIT_AUTHOR_EMAIL": "carol@example.org",
           "GIT_COMMITTER_NAME": "carol", "GIT_COMMITTER_EMAIL": "carol@example.org"}

    def run(*args: str) -> None:
        subprocess.run(["git", *args], cwd=work, env=env, capture_output=True, check=True)

    subprocess.run(["git", "clone", "-q", str(guides.settings.repo_dir), str(work)], check=True, env=env)
    run("mv", "guides/rsa.md", "guides/revenu-solidarite.md")
    run("commit", "-q", "-m", "git mv")
    run("push", "-q", "origin", "HEAD:main")
    assert guides.pages.catch_up() == 1
    revisions, total = guides.pages.revisions("guides/revenu-solidarite")
    assert total == 4 and (revisions[0].op, revisions[0].old_path, revisions[0].author) == ("R", "guides/rsa", "carol")
    assert guides.pages.redirect("guides/rsa") == "guides/revenu-solidarite"


# -- rewriting links (pure) -------------------------------------------------------------------

MOVED = {"guides/rsa": "aides/rsa"}


@pytest.mark.parametrize(("source", "text", "expected"), [
    ("home", "[[guides/rsa]]", "[[aides/rsa|guides/rsa]]"),
    ("home", "[[Guides/RSA|le revenu]]", "[[aides/rsa|le revenu]]"),
    ("home", "[[guides/rsa#Montants]]", "[[aides/rsa#Montants|guides/rsa#Montants]]"),
    ("guides/caf", "[[./rsa]] [[../guides/rsa]]", "[[aides/rsa|./rsa]] [[aides/rsa|../guides/rsa]]"),
    ("guides/caf", '[x](rsa.md "titre") [y](rsa?x=1#a)', '[x](../aides/rsa.md "titre") [y](../aides/rsa?x=1#a)'),
    ("home", "[x](</guides/rsa>)", "[x](</aides/rsa>)"),
    ("home", "![plan](/-/files/guides/rsa/plan.png)", "![plan](/-/files/aides/rsa/plan.png)"),
    ("home", "[ref]: guides/rsa.md", "[ref]: aides/rsa.md"),
    ("home", "`[[guides/rsa]]` and ``[x](guides/rsa)``", "`[[guides/rsa]]` and ``[x](guides/rsa)``"),
    ("home", "```\n[[guides/rsa]]\n```\n[[guides/rsa]]", "```\n[[guides/rsa]]\n```\n[[aides/rsa|guides/rsa]]"),
    ("home", "[[autre]] [x](https://example.org/guides/rsa) [[#section]]", None),
    ("home", "---\ntitle: '[[guides/rsa]]'\n---\n[[guides/rsa]]",
     "---\ntitle: '[[guides/rsa]]'\n---\n[[aides/rsa|guides/rsa]]"),
])
def test_rewrite_links(source: str, text: str, expected: str | None) -> None:
    assert rewrite_links(text, source, source, MOVED) == (text if expected is None else expected)


def test_rewrite_links_of_the_moved_page_itself() -> None:
    text = "[[guides/rsa]] [[rsa]] [soi](rsa.md) [caf](caf.md) [[./caf]] ![plan](plan.png)"
    got = rewrite_links(text, "guides/rsa", "aides/rsa", MOVED)
    assert got == ("[[aides/rsa|guides/rsa]] [[rsa]] [soi](rsa.md) [caf](../guides/caf.md) [[guides/caf|./caf]]"
                   " ![plan](plan.png)")  # [[rsa]] names the page "rsa" at the root, wherever it is written


# -- the web and the API ------------------------------------------------------------------------


@pytest.fixture
def web(app: Flask, guides: Commons) -> Flask:
    return app


def login_as(client: FlaskClient, app: Flask, name: str, role: str = "contributor") -> None:
    from conftest import login
    add_user(app, name, role)
    login(client, name)


def test_old_url_answers_301(web: Flask, client: FlaskClient) -> None:
    web.extensions["commons"].pages.move("guides/rsa", "aides/rsa", None, ALICE)
    response = client.get("/guides/rsa")
    assert response.status_code == 301 and response.headers["Location"].endswith("/aides/rsa")
    response = client.get("/-/history/guides/rsa")
    assert response.status_code == 301 and response.headers["Location"].endswith("/-/history/aides/rsa")
    assert client.get("/aides/rsa").status_code == 200
    assert client.get("/guides/nouvelle").status_code == 404


def test_history_and_diff_pages_follow_the_move(web: Flask, client: FlaskClient) -> None:
    services: Commons = web.extensions["commons"]
    first = services.pages.revisions("guides/rsa")[0][-2].rev  # the second edit (the first commit has no parent)
    result = services.pages.move("guides/rsa", "aides/rsa", None, ALICE)
    page = client.get("/-/history/aides/rsa").get_data(as_text=True)
    assert "Renommage" in page and "guides/rsa" in page and "montants 2025" in page and "création" in page
    assert client.get(f"/-/diff/aides/rsa?to={first}").status_code == 200
    assert client.get(f"/-/diff/aides/rsa?from={first}&to={result.rev}").status_code == 200
    assert client.get(f"/aides/rsa?rev={first}").status_code == 200


def test_rename_form(web: Flask, client: FlaskClient) -> None:
    login_as(client, web, "alice")
    page = client.get("/guides/rsa").get_data(as_text=True)
    assert 'href="/-/move/guides/rsa"' in page and "Renommer" in page
    form = client.get("/-/move/guides/rsa")
    assert form.status_code == 200 and 'name="to"' in form.get_data(as_text=True)
    token = csrf_token(client, "/-/move/guides/rsa")
    assert client.post("/-/move/guides/rsa", data={"to": "aides/rsa"}).status_code == 400  # no CSRF token
    response = client.post("/-/move/guides/rsa", data={"to": "Aides/Revenu solidarité", "csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/aides/revenu-solidarite"
    assert web.extensions["commons"].pages.exists("aides/revenu-solidarite")
    again = client.post("/-/move/guides/caf", data={"to": "autre", "csrf_token": token})
    assert again.status_code == 409 and "existe déjà" in again.get_data(as_text=True)


def test_rename_form_needs_a_contributor(web: Flask, client: FlaskClient) -> None:
    assert client.get("/-/move/guides/rsa").status_code == 302  # to the login page
    login_as(client, web, "rita", "reader")
    assert client.get("/-/move/guides/rsa").status_code == 403


def api_move(client: FlaskClient, headers: dict[str, str], path: str, body: Any) -> Any:
    return client.post(f"{API}/pages/{path}/move", json=body, headers=headers)


def test_api_move(web: Flask, client: FlaskClient) -> None:
    services: Commons = web.extensions["commons"]
    add_user(web, "api-user")
    headers = {"Authorization": "Bearer " + services.accounts.new_token("api-user")}
    rev = services.pages.state("guides/rsa").rev  # type: ignore[union-attr]
    response = api_move(client, headers, "guides/rsa", {"to": "aides/rsa", "base_rev": rev})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["path"] == "aides/rsa" and body["rev"] == services.store.head()
    assert client.get("/guides/rsa").status_code == 301
    assert api_move(client, headers, "guides/caf", {"to": "autre", "base_rev": None}).status_code == 409
    assert api_move(client, headers, "guides/caf", {"to": "../x"}).status_code == 400
    assert api_move(client, headers, "guides/caf", {"base_rev": None}).status_code == 400
    assert api_move(client, headers, "guides/caf", {"to": "x", "folder": "oui"}).status_code == 400
    assert api_move(client, headers, "nulle-part", {"to": "x"}).status_code == 404
    stale = api_move(client, headers, "guides/caf", {"to": "aides/caf", "base_rev": "0" * 40})
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "conflict"
    assert api_move(client, {}, "guides/caf", {"to": "aides/caf"}).status_code == 401
    folder = api_move(client, headers, "guides", {"to": "fiches", "folder": True})
    assert folder.status_code == 200 and folder.get_json()["moved"] == {"guides/caf": "fiches/caf"}
    spec = client.get(f"{API}/openapi.json").get_json()
    assert "post" in spec["paths"]["/pages/{path}/move"]


# -- what is kept in the database follows the page ------------------------------------------


def test_protection_and_watches_follow_a_renamed_page(guides: Commons) -> None:
    """Renaming a protected page must not unprotect it; its watchers keep following it."""
    reader = guides.accounts.add("lecteur", "mot de passe assez long", role="reader")
    guides.protections.protect("guides/rsa", "maintainer", "admin")
    guides.watches.watch(reader.id, "guides/rsa")
    guides.move("guides/rsa", "fiches/rsa", None, ALICE)
    assert guides.protections.level("fiches/rsa") == "maintainer"
    assert guides.protections.protection("guides/rsa") is None  # a new page at the old name starts free
    assert guides.watches.is_watching(reader.id, "fiches/rsa")
    assert not guides.watches.is_watching(reader.id, "guides/rsa")


def test_folder_protections_and_watches_follow_a_folder_move(guides: Commons) -> None:
    reader = guides.accounts.add("lecteur", "mot de passe assez long", role="reader")
    guides.pages.save("guides/droits/apl", "# APL\n", "apl", None, ALICE)
    guides.protections.protect("guides", "maintainer", "admin", folder=True)
    guides.protections.protect("guides/droits", "admin", "admin", folder=True)
    guides.protections.protect("fiches/rsa", "admin", "admin")  # set before the move at the new name: kept
    guides.watches.watch(reader.id, "guides", folder=True)
    guides.watches.watch(reader.id, "guides/caf")
    guides.move("guides", "fiches", None, ALICE, folder=True)
    assert guides.protections.level("fiches/caf") == "maintainer"
    assert guides.protections.level("fiches/droits/apl") == "admin"
    assert guides.protections.level("fiches/rsa") == "admin"
    assert guides.protections.level("guides/caf") == "contributor"
    watched = guides.watches.watched(reader.id)
    assert watched.folders == ("fiches",) and watched.pages == ("fiches/caf",)
