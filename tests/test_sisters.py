"""Sync with a sister commons (issue 8): two real commons on one machine, real git, real servers."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from commons import create_app
from commons.config import load_settings
from commons.errors import CommonsError
from commons.pages import identity_for
from commons.services import Commons, open_commons
from tests.conftest import FAST_PASSWORDS, add_user, csrf_token, login
from tests.serving import commons_cli, start_server, stop_server

THREE = "# Guide\n\nPremier paragraphe.\n\nDeuxième paragraphe.\n\nTroisième paragraphe.\n"


def open_one(data: Path) -> Commons:
    services = open_commons(load_settings(data, FAST_PASSWORDS, environ={}))
    if not services.initialised():
        services.init()
    return services


@pytest.fixture
def here(tmp_path: Path) -> Iterator[Commons]:
    services = open_one(tmp_path / "ici")
    yield services
    services.close()


@pytest.fixture
def there(tmp_path: Path) -> Iterator[Commons]:
    services = open_one(tmp_path / "soeur")
    yield services
    services.close()


def git(services: Commons, *args: str) -> str:
    done = subprocess.run(["git", f"--git-dir={services.store.repo_dir}", *args], capture_output=True, text=True,
                          check=True)
    return done.stdout


def text(services: Commons, path: str) -> str:
    return services.pages.get(path).markdown


def edit(services: Commons, path: str, new: str, who: str) -> str:
    current = services.pages.state(path)
    return services.pages.save(path, new, f"modif de {who}", current.rev if current else None,
                               identity_for(who)).rev


def sync(here: Commons, there: Commons, **kwargs: object):  # type: ignore[no-untyped-def]
    return here.sisters.sync(str(there.settings.data_dir), name="soeur", **kwargs)  # type: ignore[arg-type]


def test_a_new_page_arrives_with_its_author_date_and_trailer(here: Commons, there: Commons) -> None:
    rev = edit(there, "guides/rsa", "# RSA\n\nLe revenu de solidarité active.\n", "bob")
    report = sync(here, there)
    assert report.pages == {"guides/rsa": "new"} and report.authors == ["bob"] and report.commits_applied == 1
    page = here.pages.get("guides/rsa")
    assert page.markdown == "# RSA\n\nLe revenu de solidarité active.\n" and page.author == "bob"
    ours = git(here, "log", "-1", "--format=%an <%ae>|%aI|%B", page.rev)
    theirs = git(there, "log", "-1", "--format=%an <%ae>|%aI|%B", rev)
    assert ours.split("|")[:2] == theirs.split("|")[:2]  # same author, same date
    assert ours.split("|")[0] == "bob <bob@users.noreply.commons>"
    assert f"Synced-from: soeur {rev}" in ours.split("|")[2]
    assert here.search.search("solidarité").total >= 1  # derived stores caught up
    assert here.sisters.synced("soeur") == rev


def test_edits_on_both_sides_merge_and_keep_each_author(here: Commons, there: Commons) -> None:
    edit(there, "guide", THREE, "bob")
    sync(here, there)
    edit(here, "guide", THREE.replace("Premier", "PREMIER"), "alice")
    edit(there, "guide", THREE.replace("Troisième", "TROISIÈME"), "bob")
    report = sync(here, there)
    assert report.pages == {"guide": "merged"}
    assert text(here, "guide") == THREE.replace("Premier", "PREMIER").replace("Troisième", "TROISIÈME")
    revisions, _ = here.pages.revisions("guide")
    assert [r.author for r in revisions] == ["bob", "alice", "bob"]
    shares = {a.name: a.tokens for a in here.credits.credits("guide").authors}
    assert shares.get("alice", 0) > 0 and shares.get("bob", 0) > 0


def test_running_twice_brings_nothing(here: Commons, there: Commons) -> None:
    edit(there, "guide", THREE, "bob")
    sync(here, there)
    head = here.store.head()
    again = sync(here, there)
    assert again.pages == {} and again.commits_seen == 0 and here.store.head() == head
    assert "Rien de nouveau" in "\n".join(again.summary())


def test_a_conflicting_edit_is_listed_and_our_text_kept(here: Commons, there: Commons) -> None:
    edit(there, "guide", THREE, "bob")
    sync(here, there)
    ours = THREE.replace("Deuxième paragraphe.", "Notre deuxième.")
    edit(here, "guide", ours, "alice")
    edit(there, "guide", THREE.replace("Deuxième paragraphe.", "Leur deuxième."), "bob")
    head = here.store.head()
    report = sync(here, there)
    assert report.pages == {"guide": "conflict"} and here.store.head() == head and text(here, "guide") == ours
    [conflict] = here.sisters.conflicts()
    assert (conflict.path, conflict.sister, conflict.their_author, conflict.reason) == (
        "guide", "soeur", "bob", "both-changed")
    assert "Leur deuxième." in (conflict.their_text or "")
    # A later edit of theirs to that page stays held too: the conflict shows their newest text.
    latest = edit(there, "guide", THREE.replace("Deuxième paragraphe.", "Leur deuxième.") + "\nAjout.\n", "bob")
    assert sync(here, there).pages == {"guide": "conflict"} and text(here, "guide") == ours
    [conflict] = here.sisters.conflicts()
    assert conflict.their_commit == latest and "Ajout." in (conflict.their_text or "")
    # The maintainer takes their text: their author, a Reviewed-by trailer; the conflict is closed.
    here.sisters.take_theirs(conflict.id, "mireille")
    page = here.pages.get("guide")
    assert page.markdown == conflict.their_text and page.author == "bob"
    assert "Reviewed-by: mireille" in git(here, "log", "-1", "--format=%B")
    assert here.sisters.conflicts() == [] and sync(here, there).pages == {}


def test_a_dismissed_conflict_lets_later_changes_merge_again(here: Commons, there: Commons) -> None:
    edit(there, "guide", THREE, "bob")
    sync(here, there)
    edit(here, "guide", THREE.replace("Premier", "Notre premier"), "alice")
    edit(there, "guide", THREE.replace("Premier", "Leur premier"), "bob")
    sync(here, there)
    [conflict] = here.sisters.conflicts()
    here.sisters.dismiss(conflict.id)
    assert here.sisters.conflicts() == []
    with pytest.raises(CommonsError) as refused:
        here.sisters.dismiss(conflict.id)
    assert refused.value.status == 404
    edit(there, "guide", THREE.replace("Premier", "Leur premier").replace("Troisième", "Leur troisième"), "bob")
    assert sync(here, there).pages == {"guide": "merged"}
    assert text(here, "guide") == THREE.replace("Premier", "Notre premier").replace("Troisième", "Leur troisième")


def test_deletions_and_moves_follow(here: Commons, there: Commons) -> None:
    edit(there, "a-supprimer", "# À supprimer\n", "bob")
    edit(there, "ancien-nom", "# Un guide déplacé\n\nSon texte.\n", "bob")
    sync(here, there)
    there.pages.delete("a-supprimer", None, identity_for("bob"))
    there.pages.move("ancien-nom", "nouveau-nom", None, identity_for("bob"))
    report = sync(here, there)
    assert report.pages == {"a-supprimer": "deleted", "ancien-nom": "deleted", "nouveau-nom": "new"}
    assert not here.pages.exists("a-supprimer") and not here.pages.exists("ancien-nom")
    assert text(here, "nouveau-nom") == "# Un guide déplacé\n\nSon texte.\n"
    assert here.pages.redirect("ancien-nom") == "nouveau-nom"  # our history sees the move


def test_no_ping_pong_between_two_sisters(here: Commons, there: Commons) -> None:
    edit(there, "guide", THREE, "bob")
    sync(here, there)
    edit(here, "guide", THREE.replace("Premier", "PREMIER"), "alice")
    back = there.sisters.sync(str(here.settings.data_dir), name="ici")
    assert back.own_skipped == 1 and back.pages == {"guide": "edited"}  # bob's page came back: skipped
    head = here.store.head()
    again = sync(here, there)
    assert again.own_skipped == 1 and again.pages == {} and here.store.head() == head
    assert text(here, "guide") == text(there, "guide")


def test_changes_that_came_through_another_sister_are_not_replayed_twice(
        here: Commons, there: Commons, tmp_path: Path) -> None:
    third = open_one(tmp_path / "tierce")
    try:
        edit(third, "guide", THREE, "zoe")
        there.sisters.sync(str(third.settings.data_dir), name="tierce")  # there has zoe's page, by zoe
        edit(third, "guide", THREE.replace("Premier", "PREMIER"), "zoe")
        there.sisters.sync(str(third.settings.data_dir), name="tierce")
        sync(here, there)  # here gets both of zoe's commits through there
        head = here.store.head()
        report = here.sisters.sync(str(third.settings.data_dir), name="tierce")
        assert report.commits_seen == 2 and report.own_skipped == 2 and report.pages == {}
        assert here.store.head() == head and text(here, "guide") == text(third, "guide")
    finally:
        third.close()


def test_dry_run_says_what_and_changes_nothing(here: Commons, there: Commons) -> None:
    edit(there, "guide", THREE, "bob")
    report = sync(here, there, dry_run=True)
    assert report.pages == {"guide": "new"} and report.dry_run
    assert here.store.head() is None and here.sisters.synced("soeur") is None and here.sisters.sisters() == []


def test_a_plain_git_repository_never_brings_a_real_email(here: Commons, tmp_path: Path) -> None:
    work = tmp_path / "wiki"
    subprocess.run(["git", "init", "-q", "--initial-branch=main", str(work)], check=True)
    (work / "page.md").write_text("# Page\n\nÉcrite par Jeanne.\n", "utf-8")
    (work / "notes.txt").write_text("pas une page\n", "utf-8")
    (work / "page").mkdir()
    (work / "page" / "plan.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 32)
    (work / "page" / "piege.png").write_bytes(b"<script>alert(1)</script>")  # refused by the upload checks too
    (work / "binaire.md").write_bytes(b"# Binaire\n\0\n")
    subprocess.run(["git", "-C", str(work), "add", "."], check=True)
    subprocess.run(["git", "-C", str(work), "-c", "user.name=Jeanne Dupont", "-c", "user.email=jeanne@example.org",
                    "commit", "-qm", "Page\n\nSigned-off-by: Jeanne Dupont <jeanne@example.org>"], check=True)
    report = here.sisters.sync(str(work))
    assert report.sister == "wiki" and report.pages == {"page": "new", "page/plan.png": "new", "notes.txt": "ignored",
                                                        "page/piege.png": "ignored", "binaire": "ignored"}
    assert here.store.read_file(here.store.head() or "", "page/plan.png") == b"\x89PNG\r\n\x1a\n" + b"\0" * 32
    assert here.store.read_file(here.store.head() or "", "page/piege.png") is None
    history = git(here, "log", "--format=%an <%ae> %B")
    assert "example.org" not in history and "jeanne-dupont <jeanne-dupont@users.noreply.commons>" in history


BAD_REMOTES = ["-uext::sh", "--upload-pack=touch /tmp/pwned", "ext::sh -c touch% /tmp/pwned", "file::/tmp/x",
               "fd::3", "file:///tmp", "ssh://example.org/repo.git", "/nulle/part", "relatif/absent"]


@pytest.mark.parametrize("remote", BAD_REMOTES)
def test_bad_remotes_are_refused_with_a_clear_message(here: Commons, remote: str) -> None:
    with pytest.raises(CommonsError) as refused:
        here.sisters.sync(remote)
    assert 400 <= refused.value.status < 500 and refused.value.message
    assert here.store.refs("refs/sisters/") == {} and here.sisters.sisters() == []


def test_bad_names_and_itself_are_refused(here: Commons, there: Commons, tmp_path: Path) -> None:
    for name in ("../x", "Soeur", "a b", "-x", "x" * 40):
        with pytest.raises(CommonsError) as refused:
            here.sisters.sync(str(there.settings.data_dir), name=name)
        assert refused.value.status == 400
    with pytest.raises(CommonsError, match="lui-même"):
        here.sisters.sync(str(here.settings.data_dir))
    (tmp_path / "vide").mkdir()
    with pytest.raises(CommonsError, match="ni le dossier"):
        here.sisters.sync(str(tmp_path / "vide"))
    edit(there, "guide", THREE, "bob")
    assert here.sisters.sync(str(there.settings.data_dir)).sister == "soeur"
    namesake = open_one(tmp_path / "ailleurs" / "soeur")
    try:
        edit(namesake, "guide", "# Autre guide\n", "zoe")
        with pytest.raises(CommonsError, match="--name"):  # same default name, another address
            here.sisters.sync(str(namesake.settings.data_dir))
        assert here.sisters.sync(str(namesake.settings.data_dir), name="ailleurs").pages == {"guide": "conflict"}
    finally:
        namesake.close()


def test_sync_over_http_from_a_live_server_whose_sister_refs_stay_private(
        here: Commons, there: Commons, tmp_path: Path) -> None:
    edit(there, "guide", THREE, "bob")
    edit(here, "guide", THREE.replace("Premier", "Notre premier"), "alice")  # there will hold a conflict
    there.sisters.sync(str(here.settings.data_dir), name="ici")
    assert there.store.refs("refs/sisters/ici/conflicts/")
    server = start_server(there.settings.data_dir, tmp_path / "server.log")
    try:
        advertised = subprocess.run(["git", "ls-remote", server.url + "/-/git"], capture_output=True, text=True,
                                    check=True).stdout
        assert [line.split("\t")[1] for line in advertised.splitlines()] == ["HEAD", "refs/heads/main"]
        edit(there, "autre", "# Autre\n\nÉcrit là-bas.\n", "bob")
        report = here.sisters.sync(server.url + "/-/git")
    finally:
        stop_server(server)
    assert report.sister == "127-0-0-1-" + server.url.rsplit(":", 1)[1]
    assert report.pages["autre"] == "new" and text(here, "autre") == "# Autre\n\nÉcrit là-bas.\n"


def test_cli_exit_codes_and_one_line_errors(here: Commons, there: Commons) -> None:
    edit(there, "guide", THREE, "bob")
    data, sister = here.settings.data_dir, str(there.settings.data_dir)
    dry = commons_cli(data, "sync", sister, "--name", "soeur", "--dry-run")
    assert dry.returncode == 0 and "Nouvelles pages (1) : guide" in dry.stdout and here.store.head() is None
    done = commons_cli(data, "sync", sister, "--name", "soeur")
    assert done.returncode == 0, done.stderr
    assert "Nouvelles pages (1) : guide" in done.stdout and "Auteurs : bob" in done.stdout
    edit(here, "guide", THREE.replace("Premier", "Notre premier"), "alice")
    edit(there, "guide", THREE.replace("Premier", "Leur premier"), "bob")
    conflicted = commons_cli(data, "sync", "soeur")  # a known sister by its name
    assert conflicted.returncode == 3 and "Conflits (1) : guide" in conflicted.stdout
    refused = commons_cli(data, "sync", "ext::sh -c id")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr and "ext::" in refused.stderr
    assert refused.stderr.startswith("commons: ") and len(refused.stderr.strip().splitlines()) == 1


@pytest.fixture
def sync_app(here: Commons, there: Commons) -> Iterator[Flask]:
    edit(there, "guide", THREE, "bob")
    sync(here, there)
    edit(here, "guide", THREE.replace("Premier", "Notre premier"), "alice")
    edit(there, "guide", THREE.replace("Premier", "Leur premier"), "bob")
    edit(there, "nouvelle", "# Nouvelle\n", "bob")
    app = create_app({"data_dir": here.settings.data_dir, "rate_limits": False, **FAST_PASSWORDS})
    add_user(app, "mireille", "maintainer")
    add_user(app, "carl", "contributor")
    yield app
    app.extensions["commons"].close()


def test_the_sync_page_runs_a_sync_and_resolves_conflicts(sync_app: Flask, here: Commons) -> None:
    client = sync_app.test_client()
    login(client, "carl")
    assert client.get("/-/sync").status_code == 403
    assert client.post("/-/sync", data={"sister": "soeur", "csrf_token": csrf_token(client)}).status_code == 403
    client.post("/-/logout", data={"csrf_token": csrf_token(client)})
    login(client, "mireille")
    head = here.store.head()
    assert client.post("/-/sync", data={"sister": "soeur"}).status_code == 400  # no CSRF token: nothing done
    assert here.store.head() == head
    unknown = client.post("/-/sync", data={"sister": "inconnue", "csrf_token": csrf_token(client)})
    assert unknown.status_code == 404 and "commons sync" in unknown.get_data(as_text=True)
    ran = client.post("/-/sync", data={"sister": "soeur", "csrf_token": csrf_token(client)}, follow_redirects=True)
    html = ran.get_data(as_text=True)
    assert ran.status_code == 200 and "1 conflits" in html and "Leur premier" in html and "nouvelle" in html
    assert here.pages.exists("nouvelle") and "Notre premier" in text(here, "guide")
    [conflict] = here.sisters.conflicts()
    name, key = conflict.id.split("/")
    url = f"/-/sync/conflicts/{name}/{key}"
    assert client.post(url, data={"action": "theirs"}).status_code == 400  # no CSRF token
    assert client.post(url, data={"action": "oups", "csrf_token": csrf_token(client)}).status_code == 400
    taken = client.post(url, data={"action": "theirs", "csrf_token": csrf_token(client)}, follow_redirects=True)
    assert taken.status_code == 200 and "Aucun conflit en attente" in taken.get_data(as_text=True)
    assert "Leur premier" in text(here, "guide") and here.pages.get("guide").author == "bob"
