"""Schemathesis against a live ``commons serve``, from the served OpenAPI 3.1 description.

Every operation of ``/-/api/v1`` is fuzzed (examples, coverage, fuzzing and stateful phases, writes included)
on a throwaway commons, authenticated with an admin's token. The run must find no 500, no status the
description does not list, no body that contradicts its schema, and no wrong content type. Only 127.0.0.1.

Bounded so that it takes about a minute of CPU on two cores: ``COMMONS_SCHEMATHESIS_EXAMPLES`` (default 25)
sets the examples per operation, ``COMMONS_SCHEMATHESIS_SEED`` the seed (default fixed; ``random`` for a new
one each run).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from serving import PASSWORD, Server, open_data, start_server, stop_server

from commons.pages import identity_for
from commons.web.openapi import OPENAPI

pytest.importorskip("schemathesis")

CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"
EXAMPLES = os.environ.get("COMMONS_SCHEMATHESIS_EXAMPLES", "25")
SEED = os.environ.get("COMMONS_SCHEMATHESIS_SEED", "20261129")
OPERATIONS = sum(1 for item in OPENAPI["paths"].values() for method in item if method != "parameters")


def seed_commons(data: Path) -> str:
    """A small commons: pages that link to each other and to a missing page, a suggestion, a discussion.

    Returns an API token of its admin (maintainer rights: accepting and declining are exercised too).
    """
    services = open_data(data)
    try:
        services.accounts.add("admin", PASSWORD, role="admin")
        services.accounts.add("bob", PASSWORD, role="contributor")
        token = services.accounts.new_token("admin")
        admin, bob = identity_for("admin"), identity_for("bob")
        services.pages.save("home", "# Accueil\n\nVoir [[guides/rsa]] et [[aides/manquante]].\n", "Accueil",
                            None, admin)
        rsa = services.pages.save("guides/rsa", "# RSA\n\nLe revenu de solidarité active.\n", None, None, bob)
        services.pages.save("guides/rsa", "# RSA\n\nLe revenu de solidarité active, versé par la CAF.\n",
                            "CAF", rsa.rev, admin)
        services.suggestions.suggest("guides/rsa", "# RSA\n\nLe RSA, versé chaque mois.\n", "Précision", rsa.rev,
                                     "bob")
        services.talk.post("guides/rsa", "Faut-il parler de la prime d'activité ?", "bob")
        services.search.search("allocation introuvable", 10, 0)
        return token
    finally:
        services.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """A server on a seeded commons, rate limits off (the run writes far faster than a person)."""
    root = tmp_path_factory.mktemp("schemathesis")
    token = seed_commons(root / "data")
    server = start_server(root / "data", root / "server.log", env={"COMMONS_RATE_LIMITS": "false"})
    try:
        yield server, token
    finally:
        stop_server(server)


def schemathesis(location: str, token: str, *options: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``schemathesis run`` (its CLI, in this interpreter) and return what it did."""
    seed = [] if SEED == "random" else ["--seed", SEED]
    command = [sys.executable, "-m", "schemathesis.cli", "run", location, "--checks", CHECKS,
               "--header", f"Authorization: Bearer {token}", "--workers", "1", "--no-color",
               "--generation-database", "none", "--request-timeout", "60", "--max-failures", "30", *seed, *options]
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, timeout=900)


def test_the_api_keeps_to_its_description(live: tuple[Server, str], tmp_path: Path) -> None:
    server, token = live
    done = schemathesis(f"{server.url}/-/api/v1/openapi.json", token, "--max-examples", EXAMPLES, cwd=tmp_path)
    said = done.stdout + done.stderr
    assert done.returncode == 0, said[-20000:]
    tested = re.search(r"Tested:\s+(\d+)", said)
    assert tested and int(tested.group(1)) >= OPERATIONS - 1, said[-5000:]  # all but the description's own URL
    assert re.search(r"\b(\d+) generated, \1 passed", said), said[-5000:]
    assert "Traceback" not in server.output, server.output[-5000:]


def test_a_contradiction_would_be_caught(live: tuple[Server, str], tmp_path: Path) -> None:
    """The same run on a description that gets one field wrong fails and names it: the check has teeth."""
    server, token = live
    with urllib.request.urlopen(f"{server.url}/-/api/v1/openapi.json", timeout=30) as response:  # noqa: S310
        spec = json.load(response)
    spec["components"]["schemas"]["PageList"]["properties"]["pages"] = {"type": "string"}  # it is an array
    location = tmp_path / "wrong.json"
    location.write_text(json.dumps(spec), encoding="utf-8")
    done = schemathesis(str(location), token, "--url", f"{server.url}/-/api/v1", "--include-operation-id",
                        "listPages", "--max-examples", "3", "--phases", "examples,fuzzing", cwd=tmp_path)
    said = done.stdout + done.stderr
    assert done.returncode != 0, said[-5000:]
    assert "Response violates schema" in said and "GET /pages" in said, said[-5000:]
