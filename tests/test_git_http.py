"""``git clone http://host/-/git``: a real git client against the app served by waitress in a thread."""

from __future__ import annotations

import gzip
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from serving import serve_in_thread

from commons.pages import identity_for
from commons.services import Commons


def git(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=check, timeout=60,
                          env={"GIT_TERMINAL_PROMPT": "0", "PATH": "/usr/bin:/bin:/usr/local/bin",
                               "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd or "/tmp")})


@pytest.fixture
def hidden_commit(services: Commons) -> str:
    """Two pages on main, and a suggestion kept under refs/suggestions/ (must never be served)."""
    author = identity_for("alice")
    services.pages.save("home", "# Accueil\n", "accueil", None, author)
    services.pages.save("guides/rsa", "# RSA\n\nLe revenu de solidarité active.\n", "rsa", None, author)
    head = services.store.head()
    secret = services.store.repo().git.commit_tree(f"{head}^{{tree}}", "-p", head, "-m", "suggestion privée")
    services.store.repo().git.update_ref("refs/suggestions/1", secret)
    return secret


@pytest.fixture
def server(app: Flask, hidden_commit: str) -> Iterator[str]:
    """The app on a free port; yields the clone URL."""
    with serve_in_thread(app) as url:
        yield url + "/-/git"


@pytest.mark.parametrize("version", ["2", "0"])
def test_clone_gives_the_same_head_and_files(server: str, services: Commons, tmp_path: Path, version: str) -> None:
    done = git("-c", f"protocol.version={version}", "clone", "-q", server, str(tmp_path / "clone"))
    assert done.returncode == 0, done.stderr
    clone = tmp_path / "clone"
    assert git("rev-parse", "HEAD", cwd=clone).stdout.strip() == services.store.head()
    assert git("branch", "--show-current", cwd=clone).stdout.strip() == "main"
    assert (clone / "guides" / "rsa.md").read_text("utf-8") == "# RSA\n\nLe revenu de solidarité active.\n"
    assert sorted(p.relative_to(clone).as_posix() for p in clone.rglob("*.md")) == ["guides/rsa.md", "home.md"]


def test_only_branches_are_advertised(server: str, hidden_commit: str, tmp_path: Path) -> None:
    for version in ("0", "2"):
        refs = git("-c", f"protocol.version={version}", "ls-remote", server).stdout
        assert [line.split("\t")[1] for line in refs.splitlines()] == ["HEAD", "refs/heads/main"]
        assert hidden_commit not in refs
    git("init", "-q", str(tmp_path / "empty"))
    for version in ("0", "2"):  # a v2 upload-pack would serve it: the server speaks v0 only
        fetched = git("-c", f"protocol.version={version}", "fetch", "-q", server, hidden_commit,
                      cwd=tmp_path / "empty", check=False)
        assert fetched.returncode != 0


def test_push_is_refused(server: str, services: Commons, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git("clone", "-q", server, str(clone))
    (clone / "home.md").write_text("# Vandalisme\n", "utf-8")
    git("-c", "user.name=x", "-c", "user.email=x@example.org", "commit", "-qam", "x", cwd=clone)
    before = services.store.head()
    pushed = git("push", "origin", "HEAD:main", cwd=clone, check=False)
    assert pushed.returncode != 0
    assert "push" in pushed.stderr and "refusé" in pushed.stderr and "403" in pushed.stderr
    assert services.store.head() == before


def test_endpoints_without_a_git_client(client: FlaskClient, services: Commons, hidden_commit: str) -> None:
    assert client.get("/-/git/HEAD").get_data(as_text=True) == "ref: refs/heads/main\n"
    assert client.get("/-/git/info/refs").status_code == 403
    refused = client.get("/-/git/info/refs?service=git-receive-pack")
    assert refused.status_code == 403 and refused.mimetype == "text/plain"
    assert client.post("/-/git/git-receive-pack", data=b"0000").status_code == 403
    assert "git clone" in client.get("/-/git").get_data(as_text=True)
    assert client.get("/-/git/config").status_code == 404
    assert client.get("/-/git/objects/info/packs").status_code == 404
    refs = client.get("/-/git/info/refs?service=git-upload-pack")
    assert refs.status_code == 200
    assert refs.mimetype == "application/x-git-upload-pack-advertisement"
    assert b"refs/heads/main" in refs.data and b"suggestions" not in refs.data
    v2 = client.get("/-/git/info/refs?service=git-upload-pack", headers={"Git-Protocol": "version=2"})
    assert b"version 2" not in v2.data and b"refs/heads/main" in v2.data  # always answered in v0


def _pkt(line: str) -> bytes:
    return b"%04x%s" % (len(line) + 4, line.encode())


def test_upload_pack_post_with_a_gzip_body_and_no_csrf_token(client: FlaskClient, services: Commons,
                                                           hidden_commit: str) -> None:
    head = services.store.head()
    request = _pkt(f"want {head} ofs-delta\n") + b"0000" + _pkt("done\n")
    answer = client.post("/-/git/git-upload-pack", data=gzip.compress(request),
                         headers={"Content-Type": "application/x-git-upload-pack-request",
                                  "Content-Encoding": "gzip"})
    assert answer.status_code == 200, answer.data[:200]
    assert answer.mimetype == "application/x-git-upload-pack-result"
    assert b"PACK" in answer.data
    denied = client.post("/-/git/git-upload-pack", data=_pkt(f"want {hidden_commit}\n") + b"0000" + _pkt("done\n"),
                         headers={"Content-Type": "application/x-git-upload-pack-request"})
    assert b"PACK" not in denied.data
