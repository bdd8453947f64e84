"""PageService on a real commons: saves, conflicts, history, diffs, and catching up with git."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from commons import create_app
from commons.config import load_settings
from commons.errors import BadRequest, Conflict, InvalidPath, NotFound, TooLarge
from commons.pages import PageService, identity_for
from commons.services import Commons, open_commons

ALICE = identity_for("alice")
BOB = identity_for("bob")
SHA = re.compile(r"[0-9a-f]{40}")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", f"--git-dir={repo}", *args], capture_output=True, text=True, check=True)
    return done.stdout


def run(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


def commit_outside(services: Commons, tmp_path: Path, files: dict[str, str | None], message: str) -> str:
    """Commit as bob with plain git in a clone of the bare repository, push it back; returns the commit."""
    work = tmp_path / "outside"
    if not work.exists():
        subprocess.run(["git", "clone", "-q", str(services.store.repo_dir), str(work)], check=True,
                       capture_output=True)
    run(work, "pull", "-q", "--ff-only")
    for name, text in files.items():
        target = work / name
        if text is None:
            run(work, "rm", "-q", name)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, "utf-8")
        run(work, "add", name)
    run(work, "-c", "user.name=bob", "-c", "user.email=bob@example.org", "commit", "-q", "-m", message)
    run(work, "push", "-q", "origin", "HEAD:main")
    return run(work, "rev-parse", "HEAD").strip()


def revision_rows(services: Commons) -> list[tuple[object, ...]]:
    """Every row of the derived history as it would be listed, page by page."""
    rows = []
    for state in services.history.pages():
        rows.append(("page", state.path, state.title, state.rev, state.blob, state.author, state.size))
    paths = {r[0] for r in services.history._db().execute("SELECT path FROM revisions")}
    for path in sorted(paths):
        for r in services.history.revisions(path, 500):
            rows.append(("rev", r.path, r.rev, r.parent, r.blob, r.op, r.author, r.date, r.summary, r.size, r.delta))
    return rows


@pytest.fixture
def pages(services: Commons) -> PageService:
    return services.pages


# -- saving ---------------------------------------------------------------------------------


def test_create_then_read(pages: PageService, services: Commons) -> None:
    result = pages.save("guides/rsa", "# Le RSA\n\nRevenu de solidarité active.\n", "Premier jet", None, ALICE)
    assert result.created and result.changed and not result.merged
    assert SHA.fullmatch(result.rev)
    page = pages.get("guides/rsa")
    assert page.title == "Le RSA"
    assert page.markdown == "# Le RSA\n\nRevenu de solidarité active.\n"
    assert page.rev == result.rev
    assert page.author == "alice"
    assert pages.exists("guides/rsa")
    # The commit in git: one file, pseudonymous author, the summary as message.
    assert git(services.store.repo_dir, "show", "main:guides/rsa.md").startswith("# Le RSA")
    assert git(services.store.repo_dir, "log", "-1", "--format=%an <%ae>|%s").strip() == (
        "alice <alice@users.noreply.commons>|Premier jet"
    )


def test_edit_with_current_base(pages: PageService, services: Commons) -> None:
    first = pages.save("home", "# Accueil\n", None, None, ALICE)
    second = pages.save("home", "# Accueil\n\nBienvenue.\n", "Ajout d'une phrase", first.rev, BOB)
    assert not second.created and second.changed
    assert second.rev != first.rev
    assert pages.get("home").markdown == "# Accueil\n\nBienvenue.\n"
    assert pages.get("home").author == "bob"
    assert git(services.store.repo_dir, "rev-list", "--count", "main").strip() == "2"
    assert git(services.store.repo_dir, "log", "-1", "--format=%s").strip() == "Ajout d'une phrase"


def test_default_summaries(pages: PageService, services: Commons) -> None:
    first = pages.save("a", "a\n", None, None, ALICE)
    assert git(services.store.repo_dir, "log", "-1", "--format=%s").strip() == "Création de a"
    pages.save("a", "b\n", "   ", first.rev, ALICE)
    assert git(services.store.repo_dir, "log", "-1", "--format=%s").strip() == "Modification de a"


def test_conflict_on_stale_base_carries_the_current_text(pages: PageService, services: Commons) -> None:
    first = pages.save("guides/rsa", "v1\n", None, None, ALICE)
    second = pages.save("guides/rsa", "v2 de bob\n", None, first.rev, BOB)
    with pytest.raises(Conflict) as caught:
        pages.save("guides/rsa", "v2 d'alice\n", None, first.rev, ALICE)
    exc = caught.value
    assert exc.status == 409
    assert exc.extra["current_rev"] == second.rev
    assert exc.extra["current_markdown"] == "v2 de bob\n"
    assert exc.to_json()["current_markdown"] == "v2 de bob\n"
    assert pages.get("guides/rsa").markdown == "v2 de bob\n"
    assert git(services.store.repo_dir, "rev-list", "--count", "main").strip() == "2"


def test_creating_an_existing_page_without_base_is_a_conflict(pages: PageService) -> None:
    first = pages.save("home", "# Accueil\n", None, None, ALICE)
    with pytest.raises(Conflict) as caught:
        pages.save("home", "écrasé\n", None, None, BOB)
    assert "existe déjà" in caught.value.message
    assert caught.value.extra["current_rev"] == first.rev
    assert pages.get("home").markdown == "# Accueil\n"


def test_saving_with_a_base_on_a_deleted_page_is_a_conflict(pages: PageService) -> None:
    first = pages.save("home", "# Accueil\n", None, None, ALICE)
    pages.delete("home", first.rev, BOB)
    with pytest.raises(Conflict) as caught:
        pages.save("home", "retour\n", None, first.rev, ALICE)
    assert caught.value.extra["current_rev"] is None
    assert not pages.exists("home")


def test_unknown_base_rev_is_a_conflict(pages: PageService) -> None:
    pages.save("home", "a\n", None, None, ALICE)
    with pytest.raises(Conflict):
        pages.save("home", "b\n", None, "0" * 40, ALICE)


def test_malformed_base_rev_is_a_bad_request(pages: PageService) -> None:
    pages.save("home", "a\n", None, None, ALICE)
    with pytest.raises(BadRequest):
        pages.save("home", "b\n", None, "--help", ALICE)
    assert pages.get("home").markdown == "a\n"


def test_unchanged_text_makes_no_commit(pages: PageService, services: Commons) -> None:
    first = pages.save("home", "# Accueil\n", None, None, ALICE)
    again = pages.save("home", "# Accueil\r\n\n\n", "rien", first.rev, BOB)
    assert not again.changed and not again.created
    assert again.rev == first.rev
    assert git(services.store.repo_dir, "rev-list", "--count", "main").strip() == "1"
    assert pages.revisions("home")[1] == 1


def test_text_is_normalised(pages: PageService, services: Commons) -> None:
    result = pages.save("home", "# Titre\r\nligne\rautre\r\n\r\n\r\n", None, None, ALICE)
    assert pages.get("home").markdown == "# Titre\nligne\nautre\n"
    assert services.store.read_file(result.rev, "home.md") == b"# Titre\nligne\nautre\n"
    pages.save("sans-fin", "pas de fin de ligne", None, None, ALICE)
    assert pages.get("sans-fin").markdown == "pas de fin de ligne\n"


@pytest.mark.parametrize(
    ("markdown", "error"),
    [
        ("a\0b", BadRequest),
        ("", BadRequest),
        ("  \n\r\n\t", BadRequest),
        (None, BadRequest),
        (42, BadRequest),
        (["# a"], BadRequest),
        ("\ud800 demi-caractère", BadRequest),
    ],
)
def test_bad_text_is_refused(pages: PageService, services: Commons, markdown: object, error: type) -> None:
    with pytest.raises(error):
        pages.save("home", markdown, None, None, ALICE)
    assert services.store.head() is None


def test_too_large_text_is_refused(services: Commons, data_dir: Path) -> None:
    small = open_commons(load_settings(data_dir, {"max_page_bytes": 1024}, environ={}))
    try:
        with pytest.raises(TooLarge) as caught:
            small.pages.save("home", "é" * 600, None, None, ALICE)  # 1200 bytes
        assert caught.value.status == 413
        assert small.pages.save("home", "a" * 1000, None, None, ALICE).created
        # The limit is in bytes, after normalisation.
        with pytest.raises(TooLarge):
            small.pages.save("home", "a" * 1025, None, None, ALICE)
    finally:
        small.close()
    assert services.store.head() is not None


def test_summary_validation(pages: PageService, services: Commons) -> None:
    with pytest.raises(BadRequest):
        pages.save("home", "a\n", "x" * 301, None, ALICE)
    with pytest.raises(BadRequest):
        pages.save("home", "a\n", "nul\0", None, ALICE)
    with pytest.raises(BadRequest):
        pages.save("home", "a\n", 12, None, ALICE)
    assert services.store.head() is None
    pages.save("home", "a\n", "  sur\n plusieurs\tlignes  ", None, ALICE)
    (revision,), _ = pages.revisions("home")
    assert revision.summary == "sur plusieurs lignes"


@pytest.mark.parametrize("path", ["../x", "-rf", ".git/config", "Home", "x.md", "a//b", ""])
def test_hostile_paths_never_reach_git(pages: PageService, services: Commons, path: str) -> None:
    with pytest.raises(InvalidPath):
        pages.save(path, "a\n", None, None, ALICE)
    with pytest.raises(InvalidPath):
        pages.get(path)
    assert services.store.head() is None


def test_missing_page_is_not_found(pages: PageService) -> None:
    with pytest.raises(NotFound) as caught:
        pages.get("nulle-part")
    assert caught.value.status == 404


# -- delete and restore ---------------------------------------------------------------------


def test_delete_and_restore(pages: PageService, services: Commons) -> None:
    first = pages.save("guides/rsa", "# RSA\n\nv1\n", None, None, ALICE)
    second = pages.save("guides/rsa", "# RSA\n\nv2\n", None, first.rev, ALICE)
    gone = pages.delete("guides/rsa", second.rev, BOB, "Doublon")
    assert not pages.exists("guides/rsa")
    assert services.store.read_file(gone, "guides/rsa.md") is None
    with pytest.raises(NotFound):
        pages.get("guides/rsa")
    with pytest.raises(NotFound):
        pages.delete("guides/rsa", None, BOB)
    assert [p.path for p in pages.list_pages()] == []

    restored = pages.restore("guides/rsa", first.rev, ALICE)
    assert restored.created and restored.changed
    assert pages.get("guides/rsa").markdown == "# RSA\n\nv1\n"
    revisions, total = pages.revisions("guides/rsa")
    assert total == 4
    assert [r.op for r in revisions] == ["A", "D", "M", "A"]
    assert revisions[0].summary == f"Restauration de la révision {first.rev[:7]}"
    assert revisions[1].summary == "Doublon" and revisions[1].author == "bob"

    again = pages.restore("guides/rsa", second.rev, BOB)
    assert not again.created and pages.get("guides/rsa").markdown == "# RSA\n\nv2\n"


def test_delete_on_a_stale_base_is_a_conflict(pages: PageService) -> None:
    first = pages.save("home", "a\n", None, None, ALICE)
    pages.save("home", "b\n", None, first.rev, BOB)
    with pytest.raises(Conflict):
        pages.delete("home", first.rev, ALICE)
    assert pages.exists("home")


# -- history, diffs, old revisions, titles --------------------------------------------------


def test_history_newest_first_with_count_and_paging(pages: PageService) -> None:
    revs = []
    base = None
    for i in range(5):
        result = pages.save("home", f"# Accueil\n\nversion {i}\n", f"Édition n°{i}", base, ALICE if i % 2 else BOB)
        base = result.rev
        revs.append(result.rev)
    pages.save("autre", "x\n", None, None, ALICE)
    revisions, total = pages.revisions("home")
    assert total == 5
    assert [r.rev for r in revisions] == revs[::-1]
    assert [r.summary for r in revisions][:2] == ["Édition n°4", "Édition n°3"]
    assert [r.author for r in revisions] == ["bob", "alice", "bob", "alice", "bob"]
    assert revisions[-1].op == "A" and revisions[0].op == "M"
    assert all(r.date.tzinfo is not None for r in revisions)
    middle, total = pages.revisions("home", limit=2, offset=1)
    assert [r.rev for r in middle] == [revs[3], revs[2]] and total == 5
    assert pages.revisions("jamais-vue") == ([], 0)
    recent = pages.recent(3)
    assert [r.path for r in recent] == ["autre", "home", "home"]


def test_history_sizes_and_deltas(pages: PageService) -> None:
    first = pages.save("home", "12345\n", None, None, ALICE)
    pages.save("home", "12\n", None, first.rev, ALICE)
    newest, oldest = pages.revisions("home")[0]
    assert (oldest.size, oldest.delta) == (6, 6)
    assert (newest.size, newest.delta) == (3, -3)


def test_diff_between_revisions(pages: PageService) -> None:
    first = pages.save("home", "# Accueil\n\nune ligne\nfin\n", None, None, ALICE)
    second = pages.save("home", "# Accueil\n\nune ligne modifiée\nfin\najout\n", None, first.rev, ALICE)
    old, new, diff = pages.diff("home", first.rev, second.rev)
    assert old is not None and new is not None
    assert old.markdown.endswith("une ligne\nfin\n") and new.rev == second.rev
    assert (diff.inserted, diff.deleted) == (2, 1)
    kinds = {(line.kind, line.text) for line in diff.lines}
    assert ("insert", "ajout") in kinds
    assert ("delete", "une ligne") in kinds
    assert ("insert", "une ligne modifiée") in kinds
    _, _, same = pages.diff("home", second.rev, second.rev[:10])
    assert same.identical
    # Creation: the old side lacks the page.
    other = pages.save("autre", "x\n", None, None, ALICE)
    before, after, created = pages.diff("autre", second.rev, other.rev)
    assert before is None and after is not None and created.inserted == 1
    with pytest.raises(NotFound):
        pages.diff("home", "HEAD~1", second.rev)
    with pytest.raises(NotFound):
        pages.diff("jamais", first.rev, second.rev)


def test_reading_an_old_revision(pages: PageService) -> None:
    first = pages.save("home", "# Première\n", None, None, ALICE)
    second = pages.save("home", "# Deuxième\n", None, first.rev, BOB)
    other = pages.save("autre", "x\n", None, None, ALICE)
    old = pages.get("home", first.rev)
    assert old.markdown == "# Première\n" and old.title == "Première"
    assert old.rev == first.rev and old.author == "alice"
    assert pages.get("home", first.rev[:8]).markdown == "# Première\n"
    # At a later commit that did not touch the page: the page as it stood, with its last revision.
    later = pages.get("home", other.rev)
    assert later.markdown == "# Deuxième\n" and later.rev == second.rev and later.author == "bob"
    with pytest.raises(NotFound):
        pages.get("autre", first.rev)  # did not exist yet
    for garbage in ["--help", "HEAD~1", "0" * 40, "zz"]:
        with pytest.raises(NotFound):
            pages.get("home", garbage)


@pytest.mark.parametrize(
    ("markdown", "title"),
    [
        ("# Accès aux droits\n\ntexte\n", "Accès aux droits"),
        ("---\ntitle: Titre du front matter\n---\n# Titre\n", "Titre du front matter"),
        ("texte\n\n## Sous-titre\n\n# Le vrai titre\n", "Le vrai titre"),
        ("pas de titre\n", "Aide au logement"),
        ("```\n# pas un titre\n```\n", "Aide au logement"),
    ],
)
def test_titles(pages: PageService, markdown: str, title: str) -> None:
    pages.save("guides/aide-au-logement", markdown, None, None, ALICE)
    assert pages.get("guides/aide-au-logement").title == title
    assert pages.list_pages()[0].title == title


def test_title_follows_edits(pages: PageService) -> None:
    first = pages.save("home", "# Avant\n", None, None, ALICE)
    pages.save("home", "# Après\n", None, first.rev, ALICE)
    assert pages.get("home").title == "Après"
    assert pages.state("home").title == "Après"  # type: ignore[union-attr]


def test_list_pages_sorted_and_by_folder(pages: PageService) -> None:
    for path in ["home", "guides/rsa", "guides/logement/apl", "guidesx", "guides-bis/a"]:
        pages.save(path, f"# {path}\n", None, None, ALICE)
    assert [p.path for p in pages.list_pages()] == sorted(
        ["home", "guides/rsa", "guides/logement/apl", "guidesx", "guides-bis/a"])
    assert [p.path for p in pages.list_pages("guides")] == ["guides/logement/apl", "guides/rsa"]
    listed = {p.path: p for p in pages.list_pages()}
    assert listed["guides/rsa"].title == "guides/rsa" and listed["home"].author == "alice"


def test_render_escapes_and_marks_missing_links(pages: PageService) -> None:
    pages.save("home", "# Accueil\n\n[[Guides/RSA]] <script>alert(1)</script>\n", None, None, ALICE)
    html = pages.render(pages.get("home")).html
    assert "<script>" not in html
    pages.save("guides/rsa", "# RSA\n", None, None, ALICE)
    assert pages.render(pages.get("home")).html != html  # link now points at an existing page


# -- catching up with git ---------------------------------------------------------------------


def test_outside_commit_shows_up_after_catch_up(services: Commons, tmp_path: Path) -> None:
    pages = services.pages
    first = pages.save("home", "# Accueil\n", None, None, ALICE)
    new = commit_outside(services, tmp_path, {"guides/nouveau.md": "# Nouveau guide\n"}, "Ajout par bob")
    edit = commit_outside(services, tmp_path, {"home.md": "# Accueil\n\nModifié hors de l'app.\n"},
                          "Édition de l'accueil")
    assert not pages.is_current()
    assert not pages.exists("guides/nouveau")  # the derived table lags until caught up
    assert pages.catch_up() == 2
    assert pages.is_current()
    assert pages.catch_up() == 0

    page = pages.get("guides/nouveau")
    assert page.title == "Nouveau guide" and page.rev == new and page.author == "bob"
    home = pages.get("home")
    assert home.markdown == "# Accueil\n\nModifié hors de l'app.\n" and home.rev == edit
    revisions, total = pages.revisions("home")
    assert total == 2 and [r.author for r in revisions] == ["bob", "alice"]
    assert revisions[0].summary == "Édition de l'accueil" and revisions[1].rev == first.rev


def test_save_after_an_outside_commit_catches_up_first(services: Commons, tmp_path: Path) -> None:
    pages = services.pages
    first = pages.save("home", "# Accueil\n", None, None, ALICE)
    outside = commit_outside(services, tmp_path, {"home.md": "# Accueil de bob\n"}, "bob")
    with pytest.raises(Conflict) as caught:
        pages.save("home", "# Accueil d'alice\n", None, first.rev, ALICE)
    assert caught.value.extra["current_rev"] == outside
    result = pages.save("autre", "x\n", None, None, ALICE)
    assert git(services.store.repo_dir, "rev-parse", f"{result.rev}^").strip() == outside


def test_outside_commit_shows_up_at_start_up(services: Commons, tmp_path: Path) -> None:
    services.pages.save("home", "# Accueil\n", None, None, ALICE)
    commit_outside(services, tmp_path, {"guides/rsa.md": "# RSA\n"}, "Ajout du RSA")

    fresh = open_commons(load_settings(services.settings.data_dir, environ={}))
    try:
        fresh.pages.catch_up()
        assert fresh.pages.get("guides/rsa").title == "RSA"
    finally:
        fresh.close()

    commit_outside(services, tmp_path, {"guides/rsa.md": None}, "Suppression du RSA")
    app = create_app({"data_dir": services.settings.data_dir})
    try:
        client = app.test_client()
        assert client.get("/-/api/v1/pages/guides/rsa").status_code == 404
        assert client.get("/-/api/v1/pages/home").status_code == 200
    finally:
        app.extensions["commons"].close()
    assert not services.pages.exists("guides/rsa")  # the same derived table, shared on disk


def test_old_revision_at_a_commit_that_changed_no_page(services: Commons, tmp_path: Path) -> None:
    pages = services.pages
    first = pages.save("home", "# Accueil\n", None, None, ALICE)
    readme = commit_outside(services, tmp_path, {"README": "lisez-moi\n"}, "Ajout d'un README")
    pages.catch_up()
    page = pages.get("home", readme)
    assert page.markdown == "# Accueil\n"
    assert page.rev == first.rev  # the last commit that touched the page, not the one asked for
    assert page.author == "alice" and page.updated is not None


def test_outside_merge_commit_is_one_change(services: Commons, tmp_path: Path) -> None:
    pages = services.pages
    pages.save("home", "# Accueil\n", None, None, ALICE)
    work = tmp_path / "outside"
    subprocess.run(["git", "clone", "-q", str(services.store.repo_dir), str(work)], check=True, capture_output=True)
    ident = ["-c", "user.name=bob", "-c", "user.email=bob@example.org"]
    run(work, "checkout", "-q", "-b", "branche")
    (work / "guides").mkdir()
    (work / "guides" / "rsa.md").write_text("# RSA\n", "utf-8")
    run(work, "add", ".")
    run(work, *ident, "commit", "-q", "-m", "Sur une branche")
    run(work, "checkout", "-q", "main")
    (work / "home.md").write_text("# Accueil modifié\n", "utf-8")
    run(work, *ident, "commit", "-q", "-am", "Sur main")
    run(work, *ident, "merge", "-q", "--no-ff", "-m", "Fusion de la branche", "branche")
    run(work, "push", "-q", "origin", "main")
    merge = run(work, "rev-parse", "HEAD").strip()

    assert pages.catch_up() == 2  # "Sur main", then the merge, following first parents
    rsa = pages.get("guides/rsa")
    assert rsa.rev == merge and rsa.title == "RSA"
    assert pages.revisions("guides/rsa")[0][0].summary == "Fusion de la branche"
    assert pages.get("home").markdown == "# Accueil modifié\n"
    assert services.check() == []
    before = revision_rows(services)
    services.reindex()
    assert revision_rows(services) == before


def test_odd_outside_commit_does_not_stop_the_wiki(services: Commons, tmp_path: Path) -> None:
    """Control characters in an outside author name or message must not break catch-up (or start-up)."""
    services.pages.save("home", "# Accueil\n", None, None, ALICE)
    work = tmp_path / "outside"
    subprocess.run(["git", "clone", "-q", str(services.store.repo_dir), str(work)], check=True, capture_output=True)
    (work / "bizarre.md").write_text("# Bizarre\n", "utf-8")
    run(work, "add", ".")
    run(work, "-c", "user.name=b\x1fob", "-c", "user.email=bob@example.org", "commit", "-q", "-m",
        "séparateurs \x1e et \x1f dans le message")
    run(work, "push", "-q", "origin", "HEAD:main")
    app = create_app({"data_dir": services.settings.data_dir})
    try:
        assert app.test_client().get("/-/api/v1/pages/bizarre").status_code == 200
    finally:
        app.extensions["commons"].close()
    services.pages.catch_up()
    (revision,), _ = services.pages.revisions("bizarre")
    assert revision.summary == "séparateurs \x1e et \x1f dans le message"
    assert services.pages.save("home", "# Suite\n", None, services.pages.get("home").rev, ALICE).changed


def test_non_page_files_are_ignored(services: Commons, tmp_path: Path) -> None:
    services.pages.save("home", "# Accueil\n", None, None, ALICE)
    commit_outside(services, tmp_path, {"README": "lisez-moi\n", "Guides/Majuscules.md": "x\n",
                                        "images/logo.png": "png"}, "divers")
    services.pages.catch_up()
    assert [p.path for p in services.pages.list_pages()] == ["home"]
    assert services.check() == []


def test_reindex_rebuilds_an_identical_history(services: Commons, tmp_path: Path) -> None:
    pages = services.pages
    base = None
    for i in range(3):
        base = pages.save("home", f"# Accueil {i}\n", f"v{i}", base, ALICE).rev
    rsa = pages.save("guides/rsa", "# RSA\n", None, None, BOB)
    pages.delete("guides/rsa", rsa.rev, ALICE)
    pages.save("guides/apl", "# APL\n", None, None, BOB)
    commit_outside(services, tmp_path, {"guides/apl.md": "# APL modifiée\n"}, "hors app")
    pages.catch_up()
    before = revision_rows(services)
    reflected = services.history.reflected()

    assert services.reindex() == 7
    assert revision_rows(services) == before
    assert services.history.reflected() == reflected == services.store.head()

    # Even from a lost cache folder, as a fresh process would find it.
    services.close()
    shutil.rmtree(services.settings.cache_dir)
    fresh = open_commons(load_settings(services.settings.data_dir, environ={}))
    try:
        assert not fresh.pages.is_current()
        assert fresh.check() != []
        fresh.pages.catch_up()
        assert revision_rows(fresh) == before
        assert fresh.check() == []
    finally:
        fresh.close()


def test_rewritten_history_triggers_a_full_rebuild(services: Commons, tmp_path: Path) -> None:
    pages = services.pages
    first = pages.save("home", "# Accueil\n", None, None, ALICE)
    pages.save("ancienne", "# Ancienne\n", None, None, ALICE)
    assert first

    other = tmp_path / "unrelated"
    other.mkdir()
    run(other, "init", "-q", "-b", "main")
    (other / "home.md").write_text("# Autre histoire\n", "utf-8")
    (other / "guides").mkdir()
    (other / "guides" / "neuf.md").write_text("# Neuf\n", "utf-8")
    run(other, "add", ".")
    run(other, "-c", "user.name=bob", "-c", "user.email=bob@example.org", "commit", "-q", "-m", "Nouvelle histoire")
    run(other, "push", "-q", "--force", str(services.store.repo_dir), "main:main")
    new_head = run(other, "rev-parse", "HEAD").strip()

    assert "en retard" in " ".join(services.check())
    assert pages.catch_up() == 1
    assert sorted(p.path for p in pages.list_pages()) == ["guides/neuf", "home"]
    assert pages.get("home").rev == new_head and pages.get("home").title == "Autre histoire"
    assert pages.revisions("home") == (pages.revisions("home")[0], 1)
    assert pages.revisions("ancienne") == ([], 0)
    assert services.check() == []
    result = pages.save("home", "# Suite\n", None, new_head, ALICE)
    assert git(services.store.repo_dir, "rev-parse", f"{result.rev}^").strip() == new_head


def test_check_reports_a_stale_history_and_is_clean_after(services: Commons, tmp_path: Path) -> None:
    assert services.check() == []
    services.pages.save("home", "# Accueil\n", None, None, ALICE)
    assert services.check() == []
    outside = commit_outside(services, tmp_path, {"home.md": "# Autre\n"}, "hors app")
    problems = services.check()
    assert problems and problems[0].startswith("historique") and outside in problems[0]
    assert all("en retard" in p for p in problems)  # every derived store lags, nothing else is wrong
    services.pages.catch_up()
    assert services.check() == []


def test_check_reports_a_corrupt_repository(services: Commons) -> None:
    result = services.pages.save("home", "# Accueil\n", None, None, ALICE)
    blob = services.store.blob_id(result.rev, "home.md")
    assert blob
    services.store.close()
    loose = services.store.repo_dir / "objects" / blob[:2] / blob[2:]
    loose.chmod(0o644)
    loose.write_bytes(b"garbage")
    problems = services.check()
    assert any(p.startswith("git fsck") for p in problems)


def test_demo_commons(services: Commons) -> None:
    assert services.add_demo() == 6  # five guides and the "Guide pratique" template
    assert services.add_demo() == 0
    listed = {p.path: p.title for p in services.pages.list_pages()}
    assert set(listed) == {"home", "ecrire-un-bon-guide", "guides/aide-au-logement",
                           "guides/rgpd-association", "guides/rsa", "modeles/guide-pratique"}
    assert listed["home"].startswith("Bienvenue")
    assert services.pages.get("home").author == "commons"
    assert services.check() == []
