"""Page templates (``modeles/``) offered when creating a page, and breadcrumbs."""

from __future__ import annotations

import pytest
from conftest import add_user, login
from flask import Flask
from flask.testing import FlaskClient

from commons.pages import identity_for
from commons.services import Commons, demo_pages
from commons.web.navigation import fill_template

ALICE = identity_for("alice")


def test_the_demo_ships_the_guide_pratique_template() -> None:
    text = demo_pages()["modeles/guide-pratique"]
    assert text.startswith("# Guide pratique\n")
    for section in ("Public concerné", "Démarches", "Pièces à fournir", "Délais", "Contacts"):
        assert f"## {section}" in text
    assert "[[" not in text  # no red links from a template


def test_templates_are_not_orphans(services: Commons) -> None:
    services.add_demo()
    assert "modeles/guide-pratique" not in services.links.orphans()
    services.pages.save("seule", "# Seule\n", "", None, ALICE)
    assert "seule" in services.links.orphans()


@pytest.mark.parametrize(("template", "expected"), [
    ("# Guide pratique\n\n## Démarches\n", "# Aides au logement\n\n## Démarches\n"),
    ("## Démarches\n", "# Aides au logement\n\n## Démarches\n"),
    ("---\ntitle: Guide pratique\ntags: [droits]\n---\n# Guide\n\nTexte\n",
     "---\ntags: [droits]\n---\n# Aides au logement\n\nTexte\n"),
])
def test_fill_template(template: str, expected: str) -> None:
    assert fill_template(template, "Aides au logement") == expected


@pytest.fixture
def browser(app: Flask, client: FlaskClient, services: Commons) -> FlaskClient:
    services.add_demo()
    add_user(app, "alice")
    login(client, "alice")
    return client


def test_the_create_form_offers_the_templates(browser: FlaskClient) -> None:
    form = browser.get("/-/edit/guides/cheque-energie?title=Chèque énergie").get_data(as_text=True)
    assert "Partir d'un modèle" in form and "modele=guide-pratique" in form and "Guide pratique" in form
    filled = browser.get("/-/edit/guides/cheque-energie?title=Chèque énergie&modele=guide-pratique")
    text = filled.get_data(as_text=True)
    assert filled.status_code == 200 and "# Chèque énergie" in text and "## Pièces à fournir" in text
    assert browser.get("/-/edit/guides/x?modele=absent").status_code == 404
    assert browser.get("/-/edit/guides/x?modele=../home").status_code == 400
    assert "Partir d'un modèle" not in browser.get("/-/edit/guides/rsa").get_data(as_text=True)  # not when editing


def test_breadcrumbs(browser: FlaskClient, services: Commons) -> None:
    services.pages.save("guides/droits/caf", "# La CAF\n", "", None, ALICE)
    page = browser.get("/guides/droits/caf").get_data(as_text=True)
    crumbs = page.split('class="breadcrumbs"', 1)[1].split("</nav>", 1)[0]
    assert '<a href="/">Accueil</a>' in crumbs and '<a href="/guides/">Guides</a>' in crumbs
    assert '<a href="/guides/droits/">Droits</a>' in crumbs and 'aria-current="page">La CAF<' in crumbs
    assert browser.get("/guides/droits/").status_code == 200
    assert 'class="breadcrumbs"' not in browser.get("/").get_data(as_text=True)
    assert "Dernière modification" in page and "par" in page
