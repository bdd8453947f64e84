"""A read replica on the same machine: a copy of the primary's repository made with ``git clone`` from ``/-/git``,
the primary's accounts database, and its own derived stores; it follows the primary with ``git fetch`` and
``commons catch-up``, while it serves, without a restart.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from serving import call, commons_cli, git, make_writers, search_paths, start_server, stop_server


def put(url: str, token: str, path: str, markdown: str, base: str | None) -> str:
    status, body = call("PUT", f"{url}/-/api/v1/pages/{path}", {"markdown": markdown, "summary": "", "base_rev": base},
                        token)
    assert status in (200, 201), body
    return str(body["rev"])


def test_read_replica_follows_the_primary(tmp_path: Path) -> None:
    primary_data, replica_data = tmp_path / "primary", tmp_path / "replica"
    (token,) = make_writers(primary_data, 1)
    shared_db = {"COMMONS_DATABASE_URL": f"sqlite:///{primary_data / 'commons.db'}"}
    primary = start_server(primary_data, tmp_path / "primary.log")
    replica = None
    try:
        first = put(primary.url, token, "guides/depart", "# Départ\n\nMot repli premierquiz.\n", None)
        replica_data.mkdir()
        subprocess.run(["git", "clone", "--bare", "--quiet", f"{primary.url}/-/git", str(replica_data / "repo.git")],
                       check=True, capture_output=True, timeout=60)
        replica = start_server(replica_data, tmp_path / "replica.log", env=shared_db)
        status, page = call("GET", f"{replica.url}/-/api/v1/pages/guides/depart")
        assert status == 200 and page["rev"] == first
        assert call("GET", f"{replica.url}/-/api/v1/pages", token=token)[0] == 200  # the same accounts

        # The primary moves on; the replica still shows what it had.
        second = put(primary.url, token, "guides/depart", "# Départ\n\nMot repli secondquiz.\n", first)
        put(primary.url, token, "guides/suite", "# Suite\n\nMot repli troisiemequiz.\n", None)
        assert call("GET", f"{replica.url}/-/api/v1/pages/guides/suite")[0] == 404

        # git fetch, then catch-up: the running replica serves the new state at once.
        git(replica_data, "fetch", "--quiet", f"{primary.url}/-/git", "+refs/heads/main:refs/heads/main")
        behind = commons_cli(replica_data, "check", env=shared_db)
        assert behind.returncode == 1 and "retard" in behind.stderr, behind
        caught = commons_cli(replica_data, "catch-up", env=shared_db)
        assert caught.returncode == 0 and "2 commits appliqués" in caught.stdout, caught
        assert commons_cli(replica_data, "check", env=shared_db).returncode == 0
        status, page = call("GET", f"{replica.url}/-/api/v1/pages/guides/depart")
        assert status == 200 and page["rev"] == second and "secondquiz" in page["markdown"]
        assert call("GET", f"{replica.url}/-/api/v1/pages/guides/suite")[0] == 200
        assert search_paths(replica.url, "troisiemequiz") == {"guides/suite"}
        assert search_paths(replica.url, "premierquiz") == set()
        status, history = call("GET", f"{replica.url}/-/api/v1/pages/guides/depart/history")
        assert [r["rev"] for r in history["revisions"]] == [second, first]
        assert git(replica_data, "rev-parse", "main") == git(primary_data, "rev-parse", "main")
    finally:
        if replica is not None:
            stop_server(replica)
        stop_server(primary)
