"""Interface languages: French by default, English from the browser, the switch, or the account."""

from __future__ import annotations

from flask import Flask

from tests.conftest import add_user, csrf_token, login


def test_french_by_default_and_english_from_the_browser(app: Flask) -> None:
    client = app.test_client()
    french = client.get("/-/pages").get_data(as_text=True)
    assert '<html lang="fr">' in french and ">Langue</label>" in french
    english = client.get("/-/pages", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in english and ">Language</label>" in english
    assert '<html lang="fr">' in client.get("/-/pages", headers={"Accept-Language": "de"}).get_data(as_text=True)


def test_the_switch_is_remembered_for_the_visitor_and_the_account(app: Flask) -> None:
    client = app.test_client()
    token = csrf_token(client, "/-/pages")
    response = client.post("/-/lang", data={"csrf_token": token, "lang": "en", "next": "/-/pages"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/-/pages")
    assert '<html lang="en">' in client.get("/-/pages").get_data(as_text=True)
    add_user(app, "lea", "contributor")
    login(client, "lea")  # logging in clears the session: the account's own choice is what counts next
    token = csrf_token(client, "/-/pages")
    client.post("/-/lang", data={"csrf_token": token, "lang": "en", "next": "/-/pages"})
    assert app.extensions["commons"].accounts.by_name("lea").locale == "en"
    other = app.test_client()
    login(other, "lea")
    assert '<html lang="en">' in other.get("/-/pages", headers={"Accept-Language": "fr"}).get_data(as_text=True)


def test_the_switch_refuses_a_missing_token_and_an_outside_target(app: Flask) -> None:
    client = app.test_client()
    assert client.post("/-/lang", data={"lang": "en"}).status_code == 400
    token = csrf_token(client, "/-/pages")
    response = client.post("/-/lang", data={"csrf_token": token, "lang": "en", "next": "https://evil.example/"})
    assert response.status_code == 302 and response.headers["Location"] in ("/", "http://localhost/")
