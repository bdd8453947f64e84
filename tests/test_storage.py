"""Unit tests for commons.storage.GitStore on real bare repositories (no Flask, no mocks)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from commons.errors import Conflict, NotFound, Unavailable
from commons.storage import GitStore, Identity, StaleHead

ALICE = Identity("alice", "alice@users.noreply.commons")
BOB = Identity("bob", "bob@users.noreply.commons")
SHA = re.compile(r"[0-9a-f]{40}")


def git(repo: Path, *args: str) -> str:
    """Plain git on the bare repository, as an administrator would run it."""
    done = subprocess.run(["git", f"--git-dir={repo}", *args], capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture
def store(tmp_path: Path) -> Iterator[GitStore]:
    repo = GitStore(tmp_path / "repo.git")
    repo.init()
    yield repo
    repo.close()


def test_init_makes_a_bare_repository_without_commits(store: GitStore) -> None:
    assert store.exists()
    assert git(store.repo_dir, "rev-parse", "--is-bare-repository").strip() == "true"
    assert not (store.repo_dir / "index").exists()
    assert git(store.repo_dir, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert store.head() is None
    assert list(store.log(None, "main")) == []


def test_missing_repository_is_unavailable(tmp_path: Path) -> None:
    store = GitStore(tmp_path / "nothing.git")
    assert not store.exists()
    with pytest.raises(Unavailable):
        store.head()


def test_commit_creates_edits_and_deletes_files_in_nested_folders(store: GitStore) -> None:
    first = store.commit({"home.md": b"# Accueil\n", "guides/logement/apl.md": b"APL\n"}, ALICE, "Création", None)
    assert SHA.fullmatch(first)
    assert store.head() == first
    second = store.commit({"guides/logement/apl.md": b"APL v2\n", "guides/rsa.md": b"RSA\n"}, BOB, "Édition", first)
    third = store.commit({"guides/logement/apl.md": None}, ALICE, "Suppression", second)
    assert SHA.fullmatch(second) and SHA.fullmatch(third)
    assert store.head() == third

    tree = git(store.repo_dir, "ls-tree", "-r", "--name-only", third).split()
    assert tree == ["guides/rsa.md", "home.md"]  # the emptied folder is gone
    assert git(store.repo_dir, "show", f"{second}:guides/logement/apl.md") == "APL v2\n"
    assert git(store.repo_dir, "rev-parse", f"{third}^").strip() == second
    # Nothing was checked out anywhere: the repository stays bare.
    assert not (store.repo_dir / "index").exists()
    assert not (store.repo_dir.parent / "home.md").exists()
    assert store.fsck()[0]


def test_read_file_at_old_revisions(store: GitStore) -> None:
    first = store.commit({"a/b.md": b"un\n"}, ALICE, "un", None)
    second = store.commit({"a/b.md": "deux é\n".encode()}, ALICE, "deux", first)
    third = store.commit({"a/b.md": None}, ALICE, "supprimé", second)
    assert store.read_file(first, "a/b.md") == b"un\n"
    assert store.read_file(second, "a/b.md") == "deux é\n".encode()
    assert store.read_file(third, "a/b.md") is None
    assert store.read_file(first, "absent.md") is None
    blob = store.blob_id(second, "a/b.md")
    assert blob is not None and SHA.fullmatch(blob)
    assert store.read_blob(blob) == "deux é\n".encode()
    assert store.blob_id(third, "a/b.md") is None


def test_read_blob_of_unknown_or_garbage_id_is_not_found(store: GitStore) -> None:
    store.commit({"a.md": b"a\n"}, ALICE, "a", None)
    for bad in ["0" * 40, "zz", "--help"]:
        with pytest.raises(NotFound):
            store.read_blob(bad)


def test_commit_on_a_stale_parent_raises_and_leaves_the_branch(store: GitStore) -> None:
    first = store.commit({"a.md": b"a\n"}, ALICE, "a", None)
    second = store.commit({"a.md": b"b\n"}, ALICE, "b", first)
    with pytest.raises(StaleHead) as caught:
        store.commit({"a.md": b"perdu\n"}, BOB, "sur une base périmée", first)
    assert isinstance(caught.value, Conflict) and caught.value.status == 409
    assert store.head() == second
    assert store.read_file("main", "a.md") == b"b\n"
    # A "first commit" when the branch already exists is refused too.
    with pytest.raises(StaleHead):
        store.commit({"x.md": b"x\n"}, BOB, "racine", None)
    assert store.head() == second
    assert git(store.repo_dir, "rev-list", "--count", "main").strip() == "2"
    assert store.fsck()[0]


def test_log_is_oldest_first_with_changes_author_date_and_accents(store: GitStore) -> None:
    when = datetime(2024, 3, 1, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    first = store.commit({"home.md": b"h\n", "guides/rsa.md": b"r\n"}, ALICE, "Création de l'été à Noël", None, when)
    second = store.commit({"guides/rsa.md": b"r2\n"}, BOB, "Œuvres & cœur\n\nDétail sur deux lignes", first)
    third = store.commit({"home.md": None}, ALICE, "Suppression", second)

    commits = list(store.log(None, third))
    assert [c.sha for c in commits] == [first, second, third]
    assert [c.parent for c in commits] == [None, first, second]
    assert sorted((ch.status, ch.name) for ch in commits[0].changes) == [("A", "guides/rsa.md"), ("A", "home.md")]
    assert [(ch.status, ch.name) for ch in commits[1].changes] == [("M", "guides/rsa.md")]
    assert [(ch.status, ch.name) for ch in commits[2].changes] == [("D", "home.md")]
    deleted = commits[2].changes[0]
    assert deleted.blob is None and deleted.old_blob == store.blob_id(second, "home.md")
    assert commits[0].author_name == "alice"
    assert commits[0].author_email == "alice@users.noreply.commons"
    assert commits[1].author_name == "bob"
    assert commits[0].date == when
    assert commits[0].message == "Création de l'été à Noël"
    assert commits[1].message == "Œuvres & cœur\n\nDétail sur deux lignes"
    # The same text as plain git shows it.
    assert git(store.repo_dir, "log", "-1", "--format=%an <%ae>|%s", second).strip() == (
        "bob <bob@users.noreply.commons>|Œuvres & cœur"
    )

    assert [c.sha for c in store.log(first, third)] == [second, third]
    assert list(store.log(third, third)) == []


def test_log_survives_separator_characters_in_names_and_messages(store: GitStore) -> None:
    odd = Identity("b\x1fo\x1eb", "bob@users.noreply.commons")
    first = store.commit({"a.md": b"a\n"}, odd, "avant \x1e milieu \x1f après", None)
    second = store.commit({"b.md": b"b\n"}, ALICE, "normal", first)
    commits = list(store.log(None, second))
    assert [c.sha for c in commits] == [first, second]
    assert commits[0].author_name == "b\x1fo\x1eb"
    assert commits[0].message == "avant \x1e milieu \x1f après"
    assert [(ch.status, ch.name) for ch in commits[0].changes] == [("A", "a.md")]
    assert [(ch.status, ch.name) for ch in commits[1].changes] == [("A", "b.md")]


def test_commit_identity_is_cleaned_and_empty_message_gets_a_default(store: GitStore) -> None:
    sneaky = Identity("eve <x@y>\nrogue", "eve@users.noreply.commons>")
    sha = store.commit({"a.md": b"a\n"}, sneaky, "  \r\n ", None)
    (commit,) = store.log(None, sha)
    assert "<" not in commit.author_name and "\n" not in commit.author_name
    assert commit.author_email == "eve@users.noreply.commons"
    assert commit.message == "Modification"
    assert store.fsck()[0]


@pytest.mark.parametrize("garbage", ["--help", "-x", "HEAD~1", "HEAD", "main", "main^", "", "abc", "a" * 39 + "g",
                                     "@{-1}", "x" * 40, "..", "0" * 40])
def test_resolve_accepts_only_hex_commit_ids(store: GitStore, garbage: str) -> None:
    store.commit({"a.md": b"a\n"}, ALICE, "a", None)
    assert store.resolve(garbage) is None


def test_resolve_full_and_short_ids(store: GitStore) -> None:
    first = store.commit({"a.md": b"a\n"}, ALICE, "a", None)
    second = store.commit({"a.md": b"b\n"}, ALICE, "b", first)
    assert store.resolve(first) == first
    assert store.resolve(second[:7]) == second
    assert store.resolve(second[:4]) in (second, None)  # too short may be ambiguous, never another commit
    blob = store.blob_id(first, "a.md")
    assert blob is not None
    assert store.resolve(blob) is None  # a blob id is not a revision
    unknown = "1234567" if not first.startswith("1234567") else "7654321"
    assert store.resolve(unknown) is None


def test_is_ancestor(store: GitStore) -> None:
    first = store.commit({"a.md": b"a\n"}, ALICE, "a", None)
    second = store.commit({"a.md": b"b\n"}, ALICE, "b", first)
    assert store.is_ancestor(first, second)
    assert store.is_ancestor(second, second)
    assert not store.is_ancestor(second, first)
    assert not store.is_ancestor("0" * 40, second)


def test_last_change_of_a_file(store: GitStore) -> None:
    first = store.commit({"a.md": b"a\n", "b.md": b"b\n"}, ALICE, "a", None)
    second = store.commit({"b.md": b"b2\n"}, ALICE, "b", first)
    third = store.commit({"a.md": None}, ALICE, "c", second)
    assert store.last_change(second, "a.md") == first
    assert store.last_change(second, "b.md") == second
    assert store.last_change(third, "a.md") == third
    assert store.last_change(third, "nope.md") is None
    assert store.last_change("0" * 40, "a.md") is None


def test_sizes_of_many_blobs(store: GitStore) -> None:
    sha = store.commit({"a.md": b"12345\n", "b/c.md": "é\n".encode()}, ALICE, "a", None)
    a, c = store.blob_id(sha, "a.md"), store.blob_id(sha, "b/c.md")
    assert a and c
    assert store.sizes({a, c}) == {a: 6, c: 3}
    assert store.sizes(set()) == {}
    assert store.sizes({"f" * 40}) == {}  # missing objects are simply absent


def test_fsck_clean_and_maintain(store: GitStore) -> None:
    parent = None
    for i in range(5):
        parent = store.commit({f"p{i}.md": f"{i}\n".encode()}, ALICE, f"page {i}", parent)
    clean, said = store.fsck()
    assert clean, said
    assert store.maintain() >= 0
    assert store.fsck()[0]


def test_a_clone_is_a_readable_tree_of_markdown(store: GitStore, tmp_path: Path) -> None:
    first = store.commit({"home.md": b"# Bienvenue\n", "guides/rsa.md": b"# RSA\n"}, ALICE, "a", None)
    assert first
    work = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(store.repo_dir), str(work)], check=True, capture_output=True)
    assert (work / "home.md").read_text("utf-8") == "# Bienvenue\n"
    assert (work / "guides" / "rsa.md").read_text("utf-8") == "# RSA\n"


def test_close_releases_repos_and_reopens_on_demand(store: GitStore) -> None:
    sha = store.commit({"a.md": b"a\n"}, ALICE, "a", None)
    store.close()
    assert store.head() == sha  # a new Repo is opened for this thread
    store.close()
    store.close()
