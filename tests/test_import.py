"""Import (git history or folder) and export, on the real Etalab corpus and on small hostile sources."""

from __future__ import annotations

import os
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from commons import markup
from commons.config import load_settings
from commons.errors import CommonsError
from commons.exporter import export
from commons.import_authors import Authors
from commons.import_links import Resolver, rewrite
from commons.import_names import NameMap
from commons.importer import ImportReport, import_source
from commons.pages import identity_for
from commons.services import Commons, open_commons

CORPUS = Path(__file__).resolve().parents[2] / "shared/corpora/guides-etalab.bundle"
ACCENTED = "reutilisation/3-animer-communauté.md"
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def git(*args: str, cwd: Path | None = None, input: bytes | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True, check=True)
    return done.stdout.decode("utf-8", "replace")


def make_repo(path: Path, commits: list[tuple[str, str, dict[str, str | bytes | None], str]]) -> Path:
    """A git working tree with ``commits``: (author name, e-mail, {file: content or None}, message)."""
    git("init", "-q", "--initial-branch=main", str(path))
    for name, email, files, message in commits:
        for file, content in files.items():
            target = path / file
            if content is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, "utf-8")
        git("add", "-A", cwd=path)
        git("-c", f"user.name={name}", "-c", f"user.email={email}", "commit", "-q", "-m", message, cwd=path)
    return path


def fresh(tmp: Path) -> Commons:
    services = open_commons(load_settings(tmp, environ={}))
    services.init()
    return services


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of the Etalab guides (skips when ../shared is absent)."""
    if not CORPUS.is_file():
        pytest.skip(f"corpus absent: {CORPUS}")
    target = tmp_path_factory.mktemp("corpus") / "guides-etalab"
    git("clone", "-q", str(CORPUS), str(target))
    return target


@pytest.fixture(scope="module")
def imported(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Commons, ImportReport]]:
    """The corpus imported once into a new commons (history, search and credits caught up)."""
    services = fresh(tmp_path_factory.mktemp("imported") / "data")
    calls: list[tuple[int, int]] = []
    report = import_source(services, str(corpus), progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1][0] == calls[-1][1]
    yield services, report
    services.close()


def commons_log(services: Commons, fmt: str, *args: str) -> str:
    return git(f"--git-dir={services.store.repo_dir}", "log", f"--format={fmt}", *args)


# -- the real corpus ------------------------------------------------------------------------

def test_every_markdown_file_at_the_tip_arrives_as_a_page(corpus: Path, imported: tuple[Commons, ImportReport]) -> None:
    services, report = imported
    tip = git("-c", "core.quotePath=false", "ls-files", "*.md", cwd=corpus).splitlines()
    assert len(tip) == 56  # the corpus README says 55; `git ls-files` at the tip lists 56 (LICENSE.md included)
    pages = {report.pages[name] for name in tip}
    assert len(pages) == len(tip)
    assert {p.path for p in services.pages.list_pages()} == pages
    assert report.current_pages == 56
    assert report.pages[ACCENTED] == "reutilisation/3-animer-communaute"
    assert services.pages.get("reutilisation/3-animer-communaute").title.startswith("Animer")
    assert report.pages["index.md"] == "home"  # index.md wins the root; README.md falls back to its own name
    assert report.pages["README.md"] == "readme"
    assert report.pages["algorithmes/README.md"] == "algorithmes"
    assert report.pages["data.gouv.fr/README.md"] == "data-gouv-fr"
    assert report.pages["juridique/0-definition_opendata.md"] == "juridique/0-definition-opendata"
    assert Path(report.report_file).is_file()


def test_every_commit_is_kept_in_order_with_author_and_date(corpus: Path,
                                                            imported: tuple[Commons, ImportReport]) -> None:
    services, report = imported
    source = git("log", "--reverse", "--format=%at %s", cwd=corpus).splitlines()
    assert report.commits_read == report.commits_imported == len(source) == 173
    assert commons_log(services, "%at %s", "--reverse").splitlines() == source


def test_authors_are_merged_and_pseudonymous(corpus: Path, imported: tuple[Commons, ImportReport]) -> None:
    services, report = imported
    identities = set(git("log", "--format=%an <%ae>", cwd=corpus).splitlines())
    assert len(identities) == 22
    # Two people used two addresses each (Alexandre Bulté, Bastien): 20 authors.
    assert len(report.authors) == 20
    authors = set(commons_log(services, "%an <%ae>").splitlines())
    assert len(authors) == 20
    assert "alexandre-bulte <alexandre-bulte@users.noreply.commons>" in authors
    assert all(a.endswith("@users.noreply.commons>") for a in authors)
    assert {a["username"] for a in report.authors} == {a.split(" ")[0] for a in authors}


def test_no_original_email_anywhere_in_the_new_history(corpus: Path, imported: tuple[Commons, ImportReport]) -> None:
    services, _ = imported
    source_emails = set(git("log", "--format=%ae%n%ce", cwd=corpus).split())
    source_emails |= set(EMAIL_RE.findall(git("log", "--format=%B", cwd=corpus)))  # Co-authored-by trailers
    assert len(source_emails) > 20
    everything = git(f"--git-dir={services.store.repo_dir}", "log", "--all", "--format=%an%ae%cn%ce%B")
    assert [e for e in source_emails if e in everything] == []
    separated = git(f"--git-dir={services.store.repo_dir}", "log", "--all", "--format=%an %ae %cn %ce%n%B")
    assert {e.split("@", 1)[1] for e in EMAIL_RE.findall(separated)} == {"users.noreply.commons"}
    assert "Co-authored-by: thomas-gratier <thomas-gratier@users.noreply.commons>" in everything


HISTORY_CASES = [  # source file, page, `git log --oneline` count, `git log --follow` count, the page's history
    ("algorithmes/0-guide.md", "algorithmes/0-guide", 15, 15, 15),
    (ACCENTED, "reutilisation/3-animer-communaute", 1, 1, 1),
    ("qualite/3-documenter-les-donnees.md", "qualite/3-documenter-les-donnees", 5, 19, 19),
    ("data.gouv.fr/README.md", "data-gouv-fr", 5, 5, 5),
    ("index.md", "home", 6, 9, 6),  # index.md was copied from README.md, which stayed: no rename for `git log -M`
]


@pytest.mark.parametrize(("source", "page", "plain", "follow", "history"), HISTORY_CASES)
def test_history_counts_match_the_source(corpus: Path, imported: tuple[Commons, ImportReport],
                                         source: str, page: str, plain: int, follow: int, history: int) -> None:
    """The page's history follows the renames git detects (``git log -M``, as for the commons' own moves),
    like ``git log --follow`` but for copies; and ``git log --follow`` on the commons matches the source's."""
    services, _ = imported

    def count(*args: str, cwd: Path | None = None) -> int:
        return len(git("-c", "core.quotePath=false", "log", "--oneline", *args, cwd=cwd).splitlines())

    assert count("--", source, cwd=corpus) == plain
    assert count("--follow", "--", source, cwd=corpus) == follow
    assert services.pages.revisions(page)[1] == history
    repo = f"--git-dir={services.store.repo_dir}"
    assert len(git(repo, "log", "--oneline", "--follow", "--", f"{page}.md").splitlines()) == follow - (
        1 if page == "home" else 0)  # home's first ancestor README.md lost one link-only revision (below)


def test_history_counts_of_every_file(corpus: Path, imported: tuple[Commons, ImportReport]) -> None:
    """All 89 Markdown files ever in the source: same revision count under each name (a rename counts for the
    new name only, as the commons records a move), but for one whose only change in one commit was
    ``/qualite`` -> ``/qualite/``, two links that now read the same (the revision is empty)."""
    services, report = imported
    renames = git("-c", "core.quotePath=false", "log", "-M", "--format=", "--name-status", cwd=corpus)
    moved_away = Counter(line.split("\t")[1] for line in renames.splitlines() if line.startswith("R"))
    assert len(moved_away) == 28
    differ = {}
    for source, page in report.pages.items():
        expected = len(git("-c", "core.quotePath=false", "log", "--oneline", "--", source, cwd=corpus).splitlines())
        expected -= moved_away[source]
        if services.history.count_revisions(page) != expected:
            differ[source] = (expected, services.history.count_revisions(page))
    assert len(report.pages) == 89
    assert differ == {"README.md": (10, 9)}


def test_relative_links_are_rewritten_and_resolve(imported: tuple[Commons, ImportReport]) -> None:
    services, _ = imported
    links = 0
    for state in services.pages.list_pages():
        rendered = markup.render(services.pages.get(state.path).markdown, current_path=state.path)
        missing = [link for link in rendered.links if not services.pages.exists(link)]
        assert missing == [], state.path
        links += len(rendered.links)
    assert links > 30
    folder_page = services.pages.get("algorithmes").markdown
    assert "](algorithmes/0-guide.md)" in folder_page and "](./0-guide.md)" not in folder_page
    concertation = services.pages.get("producteurs-schemas/2-phase-concertation").markdown
    assert "](/qualite/3-documenter-les-donnees#description-du-modele-de-donnees)" in concertation  # permalink
    assert "](../qualite.md)" in concertation  # was ../qualite/README.md
    assert "](0-guide.md#" in services.pages.get("algorithmes/0-guide").markdown  # untouched where still right
    assert "[TOC]" in services.pages.get("annotation/5-lexique").markdown  # VuePress [[toc]]


def test_front_matter_and_titles_are_kept(imported: tuple[Commons, ImportReport]) -> None:
    services, _ = imported
    page = services.pages.get("qualite/1-preparer-le-jeu-de-donnees")
    assert page.markdown.startswith("---\n")
    assert "permalink: /qualite/preparer-le-jeu-de-donnees" in page.markdown
    assert page.title == markup.title_of(page.markdown, page.path) != "1 preparer le jeu de donnees"


def test_search_and_credits_are_current(imported: tuple[Commons, ImportReport]) -> None:
    services, _ = imported
    assert services.pages.is_current()
    results = services.search.search("pseudonymisation")
    assert results.total > 0
    assert any(hit.path.startswith("pseudonymisation") for hit in results.hits)
    assert services.check() == []


def test_missing_images_are_reported(imported: tuple[Commons, ImportReport]) -> None:
    _, report = imported
    assert report.attachments == {}  # the corpus holds Markdown only
    assert report.skipped["algorithmes/images/Algo-quizz.png"] == "lié par une page mais absent de la source"


def test_export_of_the_corpus(imported: tuple[Commons, ImportReport], tmp_path: Path) -> None:
    services, report = imported
    result = export(services, tmp_path / "archive")
    assert result.pages == 56 and result.contributors == 20
    clone = tmp_path / "clone"
    git("clone", "-q", str(tmp_path / "archive" / "commons.bundle"), str(clone))
    assert git("rev-parse", "HEAD", cwd=clone).strip() == services.store.head() == report.head
    assert (clone / "reutilisation/3-animer-communaute.md").is_file()
    credits = (tmp_path / "archive" / "CREDITS.md").read_text("utf-8")
    for author in report.authors:
        assert f"| {author['username']} |" in credits
    assert "% du texte actuel" in credits
    assert "@" not in credits
    site = tmp_path / "archive" / "html"
    folder = (site / "algorithmes.html").read_text("utf-8")
    assert 'href="algorithmes/0-guide.html"' in folder
    assert (site / "index.html").is_file() and (site / "_static" / "commons.css").is_file()
    for page in site.rglob("*.html"):
        for href in re.findall(r'href="([^"#:]+\.html)', page.read_text("utf-8")):
            assert (page.parent / href).resolve().is_file(), (page, href)


# -- small sources ----------------------------------------------------------------------------

def test_import_into_a_commons_with_pages_builds_on_top(services: Commons, tmp_path: Path) -> None:
    services.pages.save("home", "# Accueil existant\n", "avant", None, identity_for("alice"))
    before = services.store.head()
    source = make_repo(tmp_path / "src", [
        ("Jean Dupont", "jean@example.org", {"index.md": "# Index importé\n", "Guide/Étape 1.md": "# Un\n"}, "init"),
    ])
    report = import_source(services, str(source))
    assert services.store.is_ancestor(before, services.store.head())
    assert services.pages.get("home").markdown == "# Accueil existant\n"
    assert report.pages == {"Guide/Étape 1.md": "guide/etape-1", "index.md": "index"}
    assert services.pages.get("guide/etape-1").author == "jean-dupont"


def test_a_failed_import_changes_nothing(services: Commons, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    services.pages.save("home", "# Accueil\n", "avant", None, identity_for("alice"))
    before = services.store.head()
    source = make_repo(tmp_path / "src", [
        ("A", "a@example.org", {"a.md": "# A\n"}, "un"),
        ("B", "b@example.org", {"b.md": "# B\n"}, "deux"),
    ])
    import commons.importer as importer

    original = importer._Writer.commit
    calls = []

    def failing(self: importer._Writer, *args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disque plein")
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(importer._Writer, "commit", failing)
    with pytest.raises(RuntimeError):
        import_source(services, str(source))
    assert services.store.head() == before
    refs = git(f"--git-dir={services.store.repo_dir}", "for-each-ref", "--format=%(refname)").split()
    assert refs == ["refs/heads/main"]
    assert not services.pages.exists("a")


def test_import_refuses_a_commons_that_moved_meanwhile(services: Commons, tmp_path: Path) -> None:
    from commons.importer import publish

    services.pages.save("home", "# Accueil\n", "avant", None, identity_for("alice"))
    with pytest.raises(CommonsError, match="a changé pendant l'import"):
        publish(services, services.store.head() or "", None)


def test_hostile_names_are_skipped_and_reported(services: Commons, tmp_path: Path) -> None:
    source = tmp_path / "hostile.git"
    git("init", "-q", "--bare", "--initial-branch=main", str(source))
    names = ["--upload-pack=x.md", "-rf.md", "a/.git/x.md", ".github/x.md", "ok.md", "bin.md", "latin.md",
             "sp\x01ce.md"]
    contents = {"bin.md": b"\x89PNG\0\0", "latin.md": "# Caf\xe9\n".encode("latin-1")}
    stream = b"commit refs/heads/main\ncommitter Eve <eve@example.org> 1700000000 +0000\ndata 4\nbad\n"
    for name in names:
        data = contents.get(name, b"# ok\n")
        stream += b"M 100644 inline %s\ndata %d\n%s\n" % (name.encode(), len(data), data)
    stream += b"M 100644 inline caf\xe9.md\ndata 5\n# ok\n\n"  # a file name that is not UTF-8
    git(f"--git-dir={source}", "fast-import", "--quiet", input=stream + b"\ndone\n")
    report = import_source(services, str(source))
    assert report.pages == {"ok.md": "ok"}
    for name in names[:4]:
        assert name in report.skipped
    assert "« - »" in report.skipped["--upload-pack=x.md"]
    assert "caché" in report.skipped["a/.git/x.md"]
    assert "binaire" in report.skipped["bin.md"]
    assert "UTF-8" in report.skipped["latin.md"]
    assert "contrôle" in report.skipped["sp\x01ce.md"]
    assert "UTF-8" in report.skipped["caf\ufffd.md"]
    tree = git(f"--git-dir={services.store.repo_dir}", "ls-tree", "-r", "--name-only", "main").split()
    assert tree == ["ok.md"]


def test_a_source_starting_with_a_dash_is_refused(services: Commons) -> None:
    with pytest.raises(CommonsError, match="«"):
        import_source(services, "--upload-pack=touch /tmp/pwned")
    with pytest.raises(CommonsError, match="introuvable"):
        import_source(services, "no/such/folder")


def test_folder_import(services: Commons, tmp_path: Path) -> None:
    folder = tmp_path / "wiki"
    (folder / "Guide" / "img").mkdir(parents=True)
    (folder / ".hidden").mkdir()
    (folder / "index.md").write_text("# Accueil\n\nVoir [l'étape](Guide/Étape%201.md#début).\n", "utf-8")
    (folder / "Guide" / "Étape 1.md").write_text(
        "# Étape 1\n\n![photo](img/Photo%20Été.PNG) ![bis](<img/Photo Été.PNG>)\n", "utf-8")
    (folder / "Guide" / "img" / "Photo Été.PNG").write_bytes(b"\x89PNG-image")
    (folder / "Guide" / "notes.txt").write_text("non lié", "utf-8")
    (folder / ".hidden" / "secret.md").write_text("# non\n", "utf-8")
    (folder / "Réunion d'équipe.md").write_text("Juste du texte.\n", "utf-8")
    os.symlink("/etc/passwd", folder / "lien.md")
    report = import_source(services, str(folder))
    assert report.kind == "folder" and report.commits_imported == 1
    assert report.pages == {"Guide/Étape 1.md": "guide/etape-1", "index.md": "home",
                            "Réunion d'équipe.md": "reunion-d-equipe"}
    assert report.attachments == {"Guide/img/Photo Été.PNG": "guide/img/photo-ete.png"}
    assert ".hidden" in report.skipped and "lien.md" in report.skipped
    home = services.pages.get("home").markdown
    assert "[l'étape](guide/etape-1.md#début)" in home
    assert "![photo](img/photo-ete.png) ![bis](<img/photo-ete.png>)" in services.pages.get("guide/etape-1").markdown
    assert services.pages.get("reunion-d-equipe").title == "Réunion d'équipe"  # the file name, kept in front matter
    assert services.store.read_file("HEAD", "guide/img/photo-ete.png") == b"\x89PNG-image"
    assert commons_log(services, "%an <%ae>").strip() == "import <import@users.noreply.commons>"


def test_attachments_follow_their_history(services: Commons, tmp_path: Path) -> None:
    source = make_repo(tmp_path / "src", [
        ("A", "a@example.org", {"docs/images/schema.png": b"v1", "docs/other.png": b"unlinked"}, "images"),
        ("A", "a@example.org", {"docs/README.md": "# Docs\n\n![s](images/schema.png)\n"}, "page"),
        ("B", "b@example.org", {"docs/images/schema.png": b"v2"}, "nouvelle image"),
    ])
    report = import_source(services, str(source))
    assert report.attachments == {"docs/images/schema.png": "docs/images/schema.png"}
    assert report.commits_imported == 3
    assert services.store.read_file("HEAD", "docs/images/schema.png") == b"v2"
    assert "![s](docs/images/schema.png)" in services.pages.get("docs").markdown  # README became docs.md


def test_keep_emails(services: Commons, tmp_path: Path) -> None:
    source = make_repo(tmp_path / "src", [("Jean Dupont", "jean@example.org", {"a.md": "# A\n"}, "un")])
    import_source(services, str(source), keep_emails=True)
    assert commons_log(services, "%an <%ae>").strip() == "jean-dupont <jean@example.org>"


def test_reimport_of_an_export_keeps_names(services: Commons, tmp_path: Path) -> None:
    source = make_repo(tmp_path / "src", [
        ("Zoé Martin", "zoe@example.org", {"a.md": "# A\n\n[b](b.md)\n", "b.md": "# B\n"}, "un"),
        ("zoe martin", "zoe.martin@example.com", {"b.md": "# B\n\nsuite\n"}, "deux"),
    ])
    import_source(services, str(source))
    export(services, tmp_path / "archive")
    again = fresh(tmp_path / "again")
    try:
        report = import_source(again, str(tmp_path / "archive" / "commons.bundle"))
        assert [a["username"] for a in report.authors] == ["zoe-martin"]
        assert git(f"--git-dir={again.store.repo_dir}", "rev-parse", "HEAD^{tree}") == git(
            f"--git-dir={services.store.repo_dir}", "rev-parse", "HEAD^{tree}")
    finally:
        again.close()


def test_export_refuses_a_non_empty_destination(services: Commons, tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    services.pages.save("home", "# A\n", "a", None, identity_for("alice"))
    with pytest.raises(CommonsError, match="vide"):
        export(services, tmp_path / "full")
    empty = fresh(tmp_path / "empty")
    try:
        with pytest.raises(CommonsError, match="vide"):
            export(empty, tmp_path / "out")
    finally:
        empty.close()


# -- units -------------------------------------------------------------------------------------

def test_identities_sharing_a_name_or_an_email_are_merged() -> None:

    authors = Authors(Counter({("Jean Dupont", "jd@a.org"): 3, ("jean dupont", "jean@b.org"): 1,
                               ("JD", "jean@b.org"): 1, ("Marie", "m@c.org"): 2}))
    people = authors.people()
    assert [(p.username, p.commits) for p in people] == [("jean-dupont", 5), ("marie", 2)]
    assert authors.identity("JD", "jean@b.org").email == "jean-dupont@users.noreply.commons"
    message = "Fix\n\nSigned-off-by: JD <jean@b.org>\nCo-authored-by: Paul <paul@d.org>\nvoir m@c.org"
    scrubbed = authors.scrub(message)
    assert "jean@b.org" not in scrubbed and "paul@d.org" not in scrubbed and "m@c.org" not in scrubbed
    assert "Signed-off-by: jean-dupont <jean-dupont@users.noreply.commons>" in scrubbed
    assert "Co-authored-by: paul <paul@users.noreply.commons>" in scrubbed
    assert "voir marie@users.noreply.commons" in scrubbed


def test_links_are_rewritten_only_where_needed() -> None:
    names = NameMap(pages={"a/README.md": "a", "a/x.md": "a/x", "a/Été.md": "a/ete", "b.md": "b"},
                    files={"a/img/p.png": "a/img/p.png"})
    resolver = Resolver(list(names.pages) + ["a/img/p.png"], {"/perma": "a/x.md"})
    text = ("[x](x.md) [e](./Été.md#s) [b](../b.md) [p](/perma/) [w](x) ![i](img/p.png) "
            "`[c](x.md)` [ext](https://e.org/x.md) [[Été|label]] [[label|x]]\n")
    assert rewrite(text, "a/README.md", "a", resolver, names) == (
        "[x](a/x.md) [e](a/ete.md#s) [b](b.md) [p](/a/x) [w](a/x) ![i](a/img/p.png) "
        "`[c](x.md)` [ext](https://e.org/x.md) [[a/ete|label]] [[a/x|label]]\n")
    assert rewrite("[x](x.md) [b](../b.md)", "a/x.md", "a/x", resolver, names) == "[x](x.md) [b](../b.md)"


# -- command line ------------------------------------------------------------------------------

def test_cli_import_and_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from commons.cli import main

    data = str(tmp_path / "data")
    source = make_repo(tmp_path / "src", [("Zoé", "zoe@example.org", {"Accueil.md": "# Accueil\n"}, "un")])
    assert main(["--data", data, "init"]) == 0
    capsys.readouterr()
    assert main(["--data", data, "import", str(source)]) == 0
    out = capsys.readouterr()
    assert "1 commits" in out.out and "1 pages" in out.out
    assert main(["--data", data, "export", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "commons.bundle").is_file()
    capsys.readouterr()
    assert main(["--data", data, "export", str(tmp_path / "out")]) == 1
    assert main(["--data", data, "import", "--", "--upload-pack=x"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("commons: ") for line in err)
