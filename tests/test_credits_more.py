"""Contributions other than words (creation, edit, restore, review, thanks) and what users see of them.

Through the real services (git repository, credits store, accounts database) and the app's test client.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from commons.contributions import Contributions
from commons.credits.trailers import trailer_contributions
from commons.errors import BadRequest, Conflict, NotFound
from commons.exporter import export
from commons.pages import identity_for
from commons.services import Commons
from tests.conftest import add_user, csrf_token, login

TEXT = ("# Le RSA\n\nLe revenu de solidarité active aide les personnes sans ressources.\n\n"
        "La demande se fait en ligne sur le site de la CAF.\n")
EDITED = TEXT.replace("en ligne", "en ligne ou au guichet")
VANDAL = "# Le RSA\n\nN'importe quoi.\n"


def save(services: Commons, path: str, text: str, who: str, summary: str = "modification") -> str:
    """Save ``text`` as ``who`` on top of the page's current revision; returns the new revision."""
    state = services.pages.state(path)
    return services.pages.save(path, text, summary, state.rev if state else None, identity_for(who)).rev


def the(app: Flask) -> Commons:
    """The services of the running app."""
    services: Commons = app.extensions["commons"]
    return services


def browser(app: Flask, name: str, role: str = "contributor") -> FlaskClient:
    """A new test client logged in as a new account ``name``."""
    add_user(app, name, role)
    client = app.test_client()
    login(client, name)
    return client


def thank(client: FlaskClient, path: str, rev: str, next_url: str | None = None) -> object:
    """Press the "Remercier" button of the history page of ``path``."""
    token = csrf_token(client, f"/-/history/{path}")
    data = {"csrf_token": token, **({"next": next_url} if next_url else {})}
    return client.post(f"/-/thanks/{path}?rev={rev}", data=data)


def kinds(body: dict[str, object]) -> set[tuple[str, str, int]]:
    return {(c["name"], c["kind"], c["count"]) for c in body["contributions"]}  # type: ignore[index,union-attr]


@pytest.fixture
def page(services: Commons) -> list[str]:
    """``guides/rsa``: created by alice, edited by bob, vandalised by vandal, restored by carol."""
    revs = [save(services, "guides/rsa", TEXT, "alice", "création"), save(services, "guides/rsa", EDITED, "bob")]
    revs.append(save(services, "guides/rsa", VANDAL, "vandal", "vandalisme"))
    restored = services.pages.restore("guides/rsa", revs[1], identity_for("carol"))
    return [*revs, restored.rev]


# -- thanks, as a service ------------------------------------------------------------------------


def test_thanks_once_per_revision(app: Flask, page: list[str]) -> None:
    services = the(app)
    bob = services.accounts.add("bob", "correct horse battery", role="reader")
    done = services.thanks.thank(bob, "guides/rsa", page[0])
    assert (done.author, done.rev, done.path) == ("alice", page[0], "guides/rsa")
    assert not hasattr(done, "time") and done.day.isoformat()  # the day only
    with pytest.raises(Conflict) as second:
        services.thanks.thank(bob, "guides/rsa", page[0])
    assert second.value.status == 409 and "déjà remercié" in second.value.message
    assert services.thanks.count_for("alice") == 1
    assert services.thanks.for_page("guides/rsa") == {"alice": 1}
    services.thanks.thank(bob, "guides/rsa", page[3])  # another revision: another thanks
    assert services.thanks.for_page("guides/rsa") == {"alice": 1, "carol": 1}
    assert services.thanks.given(bob.id, "guides/rsa") == {page[0], page[3]}


def test_nobody_thanks_themselves(app: Flask, page: list[str]) -> None:
    services = the(app)
    alice = services.accounts.add("alice", "correct horse battery")
    with pytest.raises(BadRequest) as refused:
        services.thanks.thank(alice, "guides/rsa", page[0])
    assert refused.value.status == 400
    assert services.thanks.count_for("alice") == 0


def test_only_revisions_of_that_page_can_be_thanked(app: Flask, page: list[str]) -> None:
    services = the(app)
    other = save(services, "autre", "# Autre\n\ntexte\n", "alice")
    bob = services.accounts.add("bob", "correct horse battery")
    for path, rev in [("guides/rsa", "0" * 40), ("guides/rsa", other), ("absente", page[0])]:
        with pytest.raises(NotFound):
            services.thanks.thank(bob, path, rev)
    for rev in ["", "abc", page[0][:7], page[0] + "0"]:
        with pytest.raises(BadRequest):
            services.thanks.thank(bob, "guides/rsa", rev)
    assert services.thanks.count_for("alice") == 0


# -- thanks, on the web --------------------------------------------------------------------------


def test_thank_button_in_history_and_diff(app: Flask, page: list[str]) -> None:
    reader = browser(app, "lectrice", "reader")
    history = reader.get("/-/history/guides/rsa").get_data(as_text=True)
    assert history.count(">Remercier<") == 4
    assert f'action="/-/thanks/guides/rsa?rev={page[0]}"' in history
    diff = reader.get(f"/-/diff/guides/rsa?to={page[1]}").get_data(as_text=True)
    assert f'action="/-/thanks/guides/rsa?rev={page[1]}"' in diff and ">Remercier<" in diff
    anonymous = app.test_client().get("/-/history/guides/rsa").get_data(as_text=True)
    assert ">Remercier<" not in anonymous


def test_thanking_from_the_history_redirects_back_with_a_message(app: Flask, page: list[str]) -> None:
    reader = browser(app, "lectrice", "reader")
    response = thank(reader, "guides/rsa", page[1], "/-/history/guides/rsa")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/-/history/guides/rsa")
    shown = html.unescape(reader.get("/-/history/guides/rsa").get_data(as_text=True))
    assert "Merci transmis à bob" in shown
    assert shown.count(">Remercier<") == 3 and "remercié·e" in shown
    again = thank(reader, "guides/rsa", page[1])
    assert again.status_code == 303 and again.headers["Location"].endswith("/-/history/guides/rsa")
    assert "déjà remercié" in html.unescape(reader.get("/-/history/guides/rsa").get_data(as_text=True))
    assert the(app).thanks.count_for("bob") == 1


def test_thanking_needs_login_csrf_and_someone_else(app: Flask, page: list[str]) -> None:
    anonymous = app.test_client()
    token = csrf_token(anonymous)
    assert anonymous.post(f"/-/thanks/guides/rsa?rev={page[0]}", data={"csrf_token": token}).status_code == 401
    alice = browser(app, "alice")
    assert alice.post(f"/-/thanks/guides/rsa?rev={page[1]}", data={}).status_code == 400  # no CSRF token
    assert thank(alice, "guides/rsa", page[0]).status_code == 400  # her own revision
    assert thank(alice, "guides/rsa", "f" * 40).status_code == 404
    assert thank(alice, "guides/rsa", page[1], "https://evil.example/").headers["Location"] == "/"
    assert the(app).thanks.count_for("alice") == 0 and the(app).thanks.count_for("bob") == 1
    own = alice.get("/-/history/guides/rsa").get_data(as_text=True)
    assert f"/-/thanks/guides/rsa?rev={page[0]}" not in own  # no button on her own revision


# -- kinds of contribution, per page and per person ----------------------------------------------


def test_contribution_kinds_per_page(app: Flask, client: FlaskClient, page: list[str]) -> None:
    reader = browser(app, "lectrice", "reader")
    thank(reader, "guides/rsa", page[0])
    thank(reader, "guides/rsa", page[3])
    body = client.get("/-/api/v1/pages/guides/rsa/credits").get_json()
    assert body["rev"] == page[3]
    assert kinds(body) == {("alice", "creation", 1), ("alice", "edit", 1), ("alice", "thanks", 1),
                           ("bob", "edit", 1), ("vandal", "edit", 1),
                           ("carol", "edit", 1), ("carol", "restore", 1), ("carol", "thanks", 1)}
    order = [(c["name"], c["kind"]) for c in body["contributions"]]
    assert order[:3] == [("alice", "creation"), ("alice", "edit"), ("alice", "thanks")]
    assert abs(sum(a["share"] for a in body["authors"]) - 1) < 1e-9
    assert {a["name"] for a in body["authors"]} == {"alice", "bob"}  # restoring credits nothing
    shown = html.unescape(client.get("/-/credits/guides/rsa").get_data(as_text=True))
    assert "a créé la page, 1 remerciement(s) reçu(s)" in shown
    assert "1 restauration(s), 1 remerciement(s) reçu(s)" in shown


def test_reviews_are_read_from_commit_trailers(services: Commons, page: list[str]) -> None:
    message = "Suggestion acceptée\n\nReviewed-by: dana <dana@users.noreply.commons>\nCo-authored-by: x <x@y.z>"
    head = services.store.head()
    services.store.commit({"guides/rsa.md": (EDITED + "\nUne phrase de bob.\n").encode()}, identity_for("bob"),
                          message, head)
    services.pages.catch_up()
    summary = services.contributions.page("guides/rsa")
    counts = {(c.name, c.kind): c.count for c in summary.contributions}
    assert counts[("dana", "review")] == 1 and ("dana", "edit") not in counts
    assert counts[("bob", "edit")] == 2
    dana = next(p for p in summary.contributors if p.name == "dana")
    assert (dana.tokens, dana.edits, dana.others) == (0, 0, {"review": 1})
    profile = services.contributions.person("dana")
    assert profile is not None and profile.reviews == 1 and profile.edits == 0


def test_trailers() -> None:
    assert trailer_contributions("Titre\n\nReviewed-by: Bob Dupont <bob@x.org>\nImported-by: <carol@x.org>") == [
        ("review", "Bob Dupont"), ("import", "carol")]
    assert trailer_contributions("Reviewed-by: bob <bob@x.org>") == []  # a subject line, not a trailer
    assert trailer_contributions("Titre\n\nReviewed-by: bob lit ceci\n\nFin du texte.") == []
    assert trailer_contributions("T\n\nreviewed-by: bob\nReviewed-by: bob\nSigned-off-by: eve <e@x>") == [
        ("review", "bob")]


class Talk:
    """A stand-in store of talk messages (kind ``discussion``): any store with these three counts fits."""

    def count_for(self, username: str) -> int:
        return self.totals().get(username, 0)

    def for_page(self, path: str) -> dict[str, int]:
        return {"dana": 2, "bob": 1} if path == "guides/rsa" else {}

    def totals(self) -> dict[str, int]:
        return {"dana": 2, "bob": 1}


def test_discussions_from_a_store_outside_git(services: Commons, page: list[str]) -> None:
    book = Contributions(services.credits, {"thanks": services.thanks, "discussion": Talk()})
    summary = book.page("guides/rsa")
    counts = {(c.name, c.kind): c.count for c in summary.contributions}
    assert counts[("dana", "discussion")] == 2 and counts[("bob", "discussion")] == 1
    assert [c.kind for c in summary.contributions if c.name == "bob"] == ["edit", "discussion"]
    dana = book.person("dana")
    assert dana is not None and (dana.discussions, dana.edits, dana.first) == (2, 0, None)
    assert [p.name for p in book.everyone()] == ["alice", "bob", "carol", "dana", "vandal"]


def test_contribution_kinds_per_contributor(app: Flask, client: FlaskClient, page: list[str]) -> None:
    services = the(app)
    save(services, "autre", "# Autre\n\nUn deuxième guide écrit par bob.\n", "bob", "création")
    reader = browser(app, "lectrice", "reader")
    thank(reader, "guides/rsa", page[1])
    thank(reader, "autre", services.pages.state("autre").rev)  # type: ignore[union-attr]
    bob = client.get("/-/api/v1/contributors/bob").get_json()
    assert bob["name"] == "bob" and set(bob) == {"name", "joined", "contributions"}
    assert bob["joined"]
    tokens = Counter(author for path in ("guides/rsa", "autre") for _, author in services.credits.tokens(path))
    assert bob["contributions"] == {"pages_created": 1, "edits": 2, "restores": 0, "surviving_tokens": tokens["bob"],
                                    "thanks_received": 2, "reviews": 0, "imports": 0, "discussions": 0}
    carol = client.get("/-/api/v1/contributors/carol").get_json()["contributions"]
    assert (carol["edits"], carol["restores"], carol["surviving_tokens"], carol["pages_created"]) == (1, 1, 0, 0)
    alice = client.get("/-/api/v1/contributors/alice").get_json()["contributions"]
    assert alice["pages_created"] == 1 and alice["surviving_tokens"] == tokens["alice"] > tokens["bob"]
    assert client.get("/-/api/v1/contributors/personne").status_code == 404
    assert client.get("/-/api/v1/contributors/personne").get_json()["error"]["code"] == "not_found"
    spec = client.get("/-/api/v1/openapi.json").get_json()
    described = spec["paths"]["/contributors/{name}"]["get"]["responses"]["200"]["content"]["application/json"]
    assert set(described["schema"]["properties"]["contributions"]["properties"]) == set(bob["contributions"])


def test_surviving_tokens_use_the_per_author_index(services: Commons, page: list[str]) -> None:
    plan = services.credits._db().execute(  # noqa: SLF001 - the query plan is the point of this test
        "EXPLAIN QUERY PLAN SELECT author, SUM(tokens) FROM shares WHERE author = ? GROUP BY author",
        ("alice",)).fetchall()
    assert any("shares_by_author" in row[-1] for row in plan)
    assert services.credits.total_tokens() == sum(p.tokens for p in services.credits.people())
    assert services.credits.person("personne") is None


def test_old_credits_store_is_rebuilt_with_the_new_kinds(services: Commons, page: list[str]) -> None:
    before = services.contributions.page("guides/rsa").contributions
    services.credits._db().execute("UPDATE meta SET value = '1' WHERE key = 'schema'")  # noqa: SLF001
    assert services.credits.reflected() is None
    head = services.store.head()
    assert head is not None
    services.credits.catch_up(services.store, head)
    assert services.credits.reflected() == head
    assert services.contributions.page("guides/rsa").contributions == before


def test_thanks_follow_a_renamed_page(services: Commons, page: list[str]) -> None:
    bob = services.accounts.add("lectrice", "correct horse battery", role="reader")
    services.thanks.thank(bob, "guides/rsa", page[0])
    head = services.store.head()
    services.store.commit({"guides/rsa.md": None, "aides/rsa.md": EDITED.encode()}, identity_for("bob"),
                          "Renommage", head)
    services.pages.catch_up()
    counts = {(c.name, c.kind): c.count for c in services.contributions.page("aides/rsa").contributions}
    assert counts[("alice", "thanks")] == 1


# -- what users see ------------------------------------------------------------------------------


def test_contributor_profile(app: Flask, client: FlaskClient, page: list[str]) -> None:
    services = the(app)
    services.accounts.add("bob", "correct horse battery", display_name="Bob Dupont")
    reader = browser(app, "lectrice", "reader")
    thank(reader, "guides/rsa", page[1])
    response = client.get("/-/contributors/bob")
    assert response.status_code == 200
    shown = html.unescape(response.get_data(as_text=True))
    bob_tokens = Counter(a for _, a in services.credits.tokens("guides/rsa"))["bob"]
    assert "<h1>Bob Dupont (bob)</h1>" in shown
    assert "0 page(s) créée(s)" in shown and "1 modification(s)" in shown
    assert f"{bob_tokens} mot(s) et signe(s)" in shown
    assert "1 remerciement(s) reçu(s)" in shown and "0 relecture(s)" in shown
    assert "modification de <a href=\"/guides/rsa\">guides/rsa</a>" in shown
    carol = html.unescape(client.get("/-/contributors/carol").get_data(as_text=True))
    assert "1 modification(s), dont 1 restauration(s)" in carol and "restauration de <a" in carol
    assert "Première contribution le" in carol  # an author without an account
    assert client.get("/-/contributors/personne").status_code == 404


def test_commons_credits_lists_everyone_by_name(app: Flask, client: FlaskClient, page: list[str]) -> None:
    services = the(app)
    services.accounts.add("bob", "correct horse battery", display_name="Zoé Martin")
    save(services, "autre", "# Autre\n\nUn texte de dana.\n", "dana", "création")
    reader = browser(app, "lectrice", "reader")
    thank(reader, "guides/rsa", page[0])
    response = client.get("/-/credits")
    assert response.status_code == 200
    shown = html.unescape(response.get_data(as_text=True))
    rows = re.findall(r'<th scope="row"><a href="/-/contributors/([^"]+)">([^<]+)</a></th>', shown)
    assert [name for name, _ in rows] == ["alice", "carol", "dana", "vandal", "bob"]  # by shown name
    assert dict(rows)["bob"] == "Zoé Martin"
    alice_row = shown[shown.index('href="/-/contributors/alice"'):].split("</tr>")[0]
    cells = re.findall(r'<td class="num">([^<]+)</td>', alice_row)
    alice = services.contributions.person("alice")
    assert alice is not None
    assert cells[0] == "1" and cells[1] == "1" and cells[2].startswith(f"{alice.surviving_tokens} (")
    assert cells[3] == "1"


def test_credits_md_lists_surviving_words(app: Flask, page: list[str], tmp_path: Path) -> None:
    services = the(app)
    reader = browser(app, "lectrice", "reader")
    thank(reader, "guides/rsa", page[0])
    export(services, tmp_path / "archive")
    credits = (tmp_path / "archive" / "CREDITS.md").read_text("utf-8")
    assert "| Contributeur | Mots et signes conservés | Part du texte actuel | Modifications | Pages créées" in credits
    book: Contributions = services.contributions
    total = services.credits.total_tokens()
    for person in book.everyone():
        share = f"{person.surviving_tokens / total * 100:.1f}".replace(".", ",")
        assert (f"| {person.name} | {person.surviving_tokens} | {share} % | {person.edits} | "
                f"{person.pages_created} | {person.thanks_received} |") in credits
    names = [line.split(" | ")[0][2:] for line in credits.splitlines() if line.startswith("| ") and " % |" in line]
    assert names == ["alice", "bob", "carol", "vandal"]
    assert "| alice | " in credits and "| 1 |" in credits
