"""The editor on the web: live preview endpoint, no-JavaScript preview, cheat-sheet, OpenSearch, table of contents."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from flask import Flask
from flask.testing import FlaskClient

from commons import create_app
from commons.pages import identity_for
from commons.services import Commons
from tests.conftest import add_user, csrf_token, login, save

LONG_PAGE = ("# Guide du RSA\n\nIntro.\n\n## Qui peut l'avoir\n\nTexte.\n\n## Pièces à fournir\n\nTexte.\n\n"
             "## Délais\n\nTexte.\n\n### Recours\n\nTexte.\n")


def _preview(client: FlaskClient, markdown: str, path: str = "guides/rsa", token: str | None = None,
             **extra: str) -> tuple[int, dict[str, object]]:
    headers = {"X-CSRFToken": token if token is not None else csrf_token(client)}
    response = client.post("/-/preview", data={"markdown": markdown, "path": path, **extra}, headers=headers)
    return response.status_code, (response.get_json(silent=True) or {"text": response.get_data(as_text=True)})


def test_preview_renders_markdown_through_the_page_pipeline(client: FlaskClient, contributor: str,
                                                            services: Commons) -> None:
    services.pages.save("guides/caf", "# CAF\n", "x", None, identity_for("alice"))
    status, body = _preview(client, "# Titre\n\n**gras** et [[guides/caf|la CAF]] et [[Absente]] et [doc](autre.md)\n")
    assert status == 200
    html = str(body["html"])
    assert '<h1 id="titre">Titre</h1>' in html and "<strong>gras</strong>" in html
    assert 'class="wikilink" href="/guides/caf"' in html  # an existing page
    assert 'href="/-/edit/absente"' in html and "wikilink new" in html  # a red link to a page to create
    assert 'href="autre"' in html  # .md dropped like on a page view
    assert services.pages.state("guides/rsa") is None  # nothing saved


def test_preview_sanitises_scripts_and_javascript_links(client: FlaskClient, contributor: str) -> None:
    hostile = ("<script>alert(1)</script>\n\n[clic](javascript:alert(2))\n\n<img src=x onerror=alert(3)>\n\n"
               '<a href="javascript:alert(4)" onclick="alert(5)">lien</a>\n\n<iframe src="https://evil"></iframe>\n')
    status, body = _preview(client, hostile)
    assert status == 200
    html = str(body["html"]).lower()
    for bad in ("<script", "javascript:", "onerror", "onclick", "<iframe", "alert(1)"):
        assert bad not in html, bad
    assert "clic" in html and "lien" in html  # the text stays, the danger goes


def test_preview_warns_about_images_without_alt(client: FlaskClient, contributor: str) -> None:
    status, body = _preview(client, "![](plan.png)\n\n![Plan d'accès](carte.png)\n")
    assert status == 200
    assert body["images_without_alt"] == ["/-/files/guides/rsa/plan.png"]


def test_preview_without_csrf_token_is_refused(client: FlaskClient, contributor: str) -> None:
    response = client.post("/-/preview", data={"markdown": "# Titre\n", "path": "guides/rsa"})
    assert response.status_code == 400
    assert "jeton CSRF" in response.get_data(as_text=True)
    status, _ = _preview(client, "# Titre\n", token="faux-jeton")
    assert status == 400


def test_preview_of_a_huge_text_answers_413(client: FlaskClient, contributor: str, app: Flask) -> None:
    settings = app.extensions["commons"].settings
    status, body = _preview(client, "a" * (settings.max_page_bytes + 10))
    assert status == 413
    assert "taille maximale" in body["error"]["message"]  # type: ignore[index]
    status, _ = _preview(client, "a" * (settings.max_body_bytes + 10))
    assert status == 413


def test_preview_refuses_bad_input_with_a_4xx(client: FlaskClient, contributor: str) -> None:
    status, body = _preview(client, "texte\0nul")
    assert status == 400 and "NUL" in body["error"]["message"]  # type: ignore[index]
    status, body = _preview(client, "# Titre\n", path="../etc/passwd")
    assert status == 400 and body["error"]["code"]  # type: ignore[index]
    status, body = _preview(client, "# Titre\n", path="")
    assert status == 400
    token = csrf_token(client)
    response = client.post("/-/preview", data=b"markdown=%E9%E9&path=guides/rsa",
                           headers={"X-CSRFToken": token, "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400
    assert client.get("/-/preview").status_code in (404, 405)  # the reserved prefix: never a page
    token = csrf_token(client)
    response = client.post("/-/preview", data={"markdown": "texte\0nul", "path": "guides/rsa"},
                           headers={"X-CSRFToken": token, "Accept-Language": "en"})
    assert response.status_code == 400 and "NUL" in response.get_json()["error"]["message"]
    assert "caractère" not in response.get_json()["error"]["message"]  # said in the reader's language


def test_preview_of_an_empty_text_is_empty(client: FlaskClient, contributor: str) -> None:
    assert _preview(client, "  \n") == (200, {"html": "", "images_without_alt": []})


def test_visitors_may_preview_only_where_they_may_suggest(client: FlaskClient, services: Commons) -> None:
    status, body = _preview(client, "*visiteur*")  # anonymous suggestions are on by default
    assert status == 200 and "<em>visiteur</em>" in str(body["html"])
    closed = create_app({"data_dir": services.settings.data_dir, "anonymous_suggestions": False})
    try:
        status, body = _preview(closed.test_client(), "*visiteur*")
    finally:
        closed.extensions["commons"].close()
    assert status == 401 and "Connectez-vous" in body["error"]["message"]  # type: ignore[index]


def test_edit_form_has_the_editor_the_cheatsheet_and_its_script(client: FlaskClient, contributor: str,
                                                                services: Commons) -> None:
    services.pages.save("guides/rsa", LONG_PAGE, "x", None, identity_for("alice"))
    html = client.get("/-/edit/guides/rsa").get_data(as_text=True)
    assert re.search(r'<script src="/-/static/editor\.js" defer></script>', html)
    assert 'role="toolbar"' in html and 'data-preview-url="/-/preview"' in html
    assert 'data-upload-url="/-/api/v1/pages/guides/rsa/files/"' in html
    assert '<details class="cheatsheet">' in html and "[[Nom de la page]]" in html
    assert 'aria-live="polite"' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # no inline script: the CSP holds
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handler
    assert re.search(r'<div class="toolbar" role="toolbar"[^>]*\shidden>', html)  # no dead buttons without JS
    assert re.search(r'<section class="live-preview"[^>]*\shidden>', html)
    section = client.get("/-/edit/guides/rsa?section=2").get_data(as_text=True)
    assert 'data-section="2"' in section and "editor.js" in section
    suggest = client.get("/-/suggest/guides/rsa").get_data(as_text=True)
    assert "editor.js" in suggest and "data-upload-url" not in suggest  # suggestions cannot attach files


def test_no_js_preview_button_shows_the_preview_and_keeps_the_text(client: FlaskClient, contributor: str,
                                                                    services: Commons) -> None:
    services.pages.save("guides/rsa", "# RSA\n\nAncien texte.\n", "x", None, identity_for("alice"))
    rev = services.pages.state("guides/rsa").rev  # type: ignore[union-attr]
    token = csrf_token(client, "/-/edit/guides/rsa")
    typed = "# RSA\n\nNouveau **texte** <script>alert(1)</script>\n"
    response = client.post("/-/edit/guides/rsa", data={"markdown": typed, "summary": "Mise à jour", "base_rev": rev,
                                                       "csrf_token": token, "preview": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'class="preview"' in html and "<strong>texte</strong>" in html
    assert "Nouveau **texte** &lt;script&gt;alert(1)&lt;/script&gt;" in html  # the typed text, escaped, in the field
    assert 'value="Mise à jour"' in html and f'value="{rev}"' in html
    assert "<script>alert(1)" not in html
    assert 'data-unsaved="1"' in html  # the page warns before leaving: the text is not saved
    assert services.pages.get("guides/rsa").markdown == "# RSA\n\nAncien texte.\n"
    assert services.pages.state("guides/rsa").rev == rev  # type: ignore[union-attr]


def test_no_js_preview_in_suggest_mode_saves_no_suggestion(client: FlaskClient, services: Commons) -> None:
    services.pages.save("guides/rsa", "# RSA\n", "x", None, identity_for("admin"))
    token = csrf_token(client, "/-/suggest/guides/rsa")
    response = client.post("/-/suggest/guides/rsa", data={"markdown": "# RSA\n\n*proposé*\n", "csrf_token": token,
                                                          "base_rev": "", "preview": "1"})
    assert response.status_code == 200 and "<em>proposé</em>" in response.get_data(as_text=True)
    assert services.suggestions.list(None) == []


def test_opensearch_description(client: FlaskClient) -> None:
    response = client.get("/-/opensearch.xml", base_url="https://wiki.example.org")
    assert response.status_code == 200
    assert response.mimetype == "application/opensearchdescription+xml"
    root = ET.fromstring(response.get_data())  # noqa: S314 - our own server's answer
    ns = {"os": "http://a9.com/-/spec/opensearch/1.1/"}
    assert root.findtext("os:ShortName", namespaces=ns) == "Commons"
    urls = {u.get("type"): u.get("template") for u in root.findall("os:Url", ns)}
    assert urls["text/html"] == "https://wiki.example.org/-/search?q={searchTerms}"
    assert urls["application/opensearchdescription+xml"] == "https://wiki.example.org/-/opensearch.xml"
    home = client.get("/").get_data(as_text=True)
    assert re.search(r'<link rel="search" type="application/opensearchdescription\+xml" href="/-/opensearch\.xml"',
                     home)


def test_table_of_contents_only_on_long_pages(app: Flask, client: FlaskClient, services: Commons) -> None:
    services.pages.save("guides/rsa", LONG_PAGE, "x", None, identity_for("admin"))
    services.pages.save("courte", "# Courte\n\n## Une partie\n\nTexte.\n\n## Une autre\n\nTexte.\n", "x", None,
                        identity_for("admin"))
    long_html = client.get("/guides/rsa").get_data(as_text=True)
    toc = re.search(r'<aside class="toc"[^>]*>(.*?)</aside>', long_html, re.S)
    assert toc is not None
    assert re.findall(r'href="#([^"]+)"', toc.group(1)) == ["guide-du-rsa", "qui-peut-l-avoir", "pieces-a-fournir",
                                                             "delais", "recours"]
    assert 'class="page-layout with-toc"' in long_html
    short_html = client.get("/courte").get_data(as_text=True)
    assert 'class="toc"' not in short_html and "Une autre" in short_html


def test_saving_after_a_preview_still_works(app: Flask, client: FlaskClient) -> None:
    add_user(app, "bruno")
    login(client, "bruno")
    response = save(client, "guides/neuf", "# Neuf\n\nTexte.\n")
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert "Texte." in client.get("/guides/neuf").get_data(as_text=True)
