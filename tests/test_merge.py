"""Three-way merges on save: what merges, what conflicts, and nothing typed is ever lost."""

from __future__ import annotations

import html
import re
import subprocess
import threading

import pytest
from flask import Flask
from flask.testing import FlaskClient

from commons.errors import BadRequest, Conflict
from commons.pages import identity_for
from commons.services import Commons
from tests.conftest import PASSWORD, csrf_token, save

ALICE, BOB = identity_for("alice"), identity_for("bob")
BASE = "# Guide\n\nun\ndeux\ntrois\nquatre\ncinq\nsix\n"


def edit(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


# (name, bob's change, alice's change, merges?, what the final text must hold)
CASES = [
    ("distant lines", lambda t: edit(t, "un\n", "UN\n"), lambda t: edit(t, "six\n", "SIX\n"), True, ["UN", "SIX"]),
    ("same line", lambda t: edit(t, "trois", "3 (bob)"), lambda t: edit(t, "trois", "3 (alice)"), False, []),
    ("adjacent lines", lambda t: edit(t, "trois", "TROIS"), lambda t: edit(t, "quatre", "QUATRE"), False, []),
    ("same change twice", lambda t: edit(t, "deux", "DEUX"), lambda t: edit(t, "deux", "DEUX"), True, ["DEUX"]),
    ("whole rewrite vs edit", lambda t: "# Autre\n\ntout neuf\n", lambda t: edit(t, "cinq", "CINQ"), False, []),
    ("deletion vs distant edit", lambda t: edit(t, "un\n", ""), lambda t: edit(t, "six", "SIX"), True, ["SIX"]),
    ("deletion vs edit of that line", lambda t: edit(t, "quatre\n", ""), lambda t: edit(t, "quatre", "4"),
     False, []),
    ("both append at the end", lambda t: t + "sept (bob)\n", lambda t: t + "sept (alice)\n", False, []),
    ("insert at top and bottom", lambda t: edit(t, "un\n", "zéro\nun\n"), lambda t: t + "sept\n", True,
     ["zéro", "sept"]),
]


@pytest.mark.parametrize(("name", "bob", "alice", "merges", "expected"), CASES, ids=[c[0] for c in CASES])
def test_merge_table(services: Commons, name: str, bob, alice, merges: bool, expected: list[str]) -> None:  # type: ignore[no-untyped-def]
    base = services.pages.save("guide", BASE, "base", None, ALICE).rev
    bob_rev = services.pages.save("guide", bob(BASE), "bob", base, BOB).rev
    if merges:
        result = services.pages.save("guide", alice(BASE), "alice", base, ALICE)
        assert result.merged is True
        text = services.pages.get("guide").markdown
        for piece in expected:
            assert piece in text
        assert result.rev != bob_rev or not result.changed
    else:
        with pytest.raises(Conflict) as raised:
            services.pages.save("guide", alice(BASE), "alice", base, ALICE)
        assert raised.value.extra["current_rev"] == bob_rev
        assert raised.value.extra["current_markdown"] == bob(BASE).rstrip("\n") + "\n"
        assert services.pages.state("guide").rev == bob_rev  # type: ignore[union-attr]


def test_merged_commit_is_authored_by_the_second_writer(services: Commons) -> None:
    base = services.pages.save("guide", BASE, "base", None, ALICE).rev
    services.pages.save("guide", edit(BASE, "un", "UN"), "bob", base, BOB)
    result = services.pages.save("guide", edit(BASE, "six", "SIX"), "alice corrige", base, ALICE)
    log = subprocess.run(["git", f"--git-dir={services.settings.repo_dir}", "log", "-1", "--format=%an|%s", result.rev],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert log == "alice|alice corrige"


@pytest.mark.parametrize("bad", ["zz", "x" * 41, "-", "HEAD", "../../x", 42, ["a"]])
def test_malformed_base_revision_is_a_bad_request(services: Commons, bad: object) -> None:
    with pytest.raises(BadRequest):
        services.pages.save("guide", BASE, "", bad, ALICE)
    assert services.pages.state("guide") is None


def test_web_form_merges_and_says_so(app: Flask, client: FlaskClient, contributor: str) -> None:
    services: Commons = app.extensions["commons"]
    base = services.pages.save("guide", BASE, "base", None, BOB).rev
    services.pages.save("guide", edit(BASE, "un", "UN"), "bob", base, BOB)
    response = save(client, "guide", edit(BASE, "six", "SIX"), base_rev=base)
    assert response.status_code == 303  # type: ignore[attr-defined]
    page = client.get("/guide").get_data(as_text=True)
    assert "fusionnés" in page and "UN" in page and "SIX" in page


def test_web_conflict_keeps_the_users_text(app: Flask, client: FlaskClient, contributor: str) -> None:
    services: Commons = app.extensions["commons"]
    base = services.pages.save("guide", BASE, "base", None, BOB).rev
    services.pages.save("guide", edit(BASE, "trois", "3 (bob)"), "bob", base, BOB)
    response = save(client, "guide", edit(BASE, "trois", "3 (alice), mon texte"), base_rev=base)
    html = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert response.status_code == 409  # type: ignore[attr-defined]
    assert "3 (alice), mon texte" in html and "3 (bob)" in html


def test_twelve_threads_appending_to_four_pages_lose_nothing(services: Commons) -> None:
    pages = [f"journal-{n}" for n in range(4)]
    for path in pages:
        services.pages.save(path, "# Journal\n", "création", None, ALICE)
    acknowledged: list[tuple[str, str]] = []
    lock = threading.Lock()

    def writer(number: int) -> None:
        for round_ in range(5):
            path = pages[(number + round_) % 4]
            line = f"ligne {number}-{round_}"
            while True:
                page = services.pages.get(path)
                try:
                    services.pages.save(path, page.markdown + line + "\n", line, page.rev, identity_for(f"w{number}"))
                except Conflict:
                    continue
                with lock:
                    acknowledged.append((path, line))
                break

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(acknowledged) == 60
    for path, line in acknowledged:
        assert line + "\n" in services.pages.get(path).markdown
    clean, said = services.store.fsck()
    assert clean, said


def test_text_survives_an_expired_session(app: Flask, client: FlaskClient, contributor: str) -> None:
    services: Commons = app.extensions["commons"]
    base = services.pages.save("guide", BASE, "base", None, BOB).rev
    token = csrf_token(client, "/-/edit/guide")
    client.delete_cookie("session")  # the session expired while the user was typing
    typed = edit(BASE, "deux", "deux, mon long paragraphe")
    refused = client.post("/-/edit/guide", data={"markdown": typed, "summary": "mon résumé", "base_rev": base,
                                                  "csrf_token": token})
    assert refused.status_code == 401
    page = refused.get_data(as_text=True)
    assert "mon long paragraphe" in page and "Connectez-vous" in page
    login_form = {name: value for name, value in re.findall(r'name="([a-z_]+)" value="([^"]*)"', page)}
    login_form.update({"username": "alice", "password": PASSWORD})
    back = client.post("/-/login", data={k: html.unescape(v) for k, v in login_form.items()})
    assert back.status_code == 200
    assert "mon long paragraphe" in back.get_data(as_text=True) and services.pages.state("guide").rev == base  # type: ignore[union-attr]
    saved = save(client, "guide", typed, base_rev=base)
    assert saved.status_code == 303  # type: ignore[attr-defined]
    assert "mon long paragraphe" in services.pages.get("guide").markdown
