"""Attachments: upload limits, type checks, hostile files, serving headers and embedding in a page."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import add_user, csrf_token, login
from flask import Flask
from flask.testing import FlaskClient

from commons import attachments, create_app, paths
from commons.errors import BadRequest, InvalidPath, NotFound, TooLarge
from commons.pages import identity_for
from commons.services import Commons

API = "/-/api/v1"
ALICE = identity_for("alice")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
HTML = b"<!doctype html><html><script>alert(document.cookie)</script></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
LIMIT = 4096


def git_count(services: Commons) -> int:
    out = subprocess.run(["git", f"--git-dir={services.settings.repo_dir}", "rev-list", "--count", "HEAD"],
                         capture_output=True, text=True, check=True).stdout
    return int(out)


@pytest.fixture
def small(services: Commons) -> Iterator[Flask]:
    """The app with a 4 KiB attachment limit and a page ``guides/rsa``."""
    services.pages.save("guides/rsa", "# RSA\n\nLe guide.\n", "création", None, ALICE)
    application = create_app({"data_dir": services.settings.data_dir, "max_attachment_bytes": LIMIT})
    application.config["TESTING"] = True
    yield application
    application.extensions["commons"].close()


@pytest.fixture
def api(small: Flask) -> tuple[FlaskClient, dict[str, str]]:
    """A client and the headers of a contributor's API token."""
    add_user(small, "alice")
    token = small.extensions["commons"].accounts.new_token("alice")
    return small.test_client(), {"Authorization": f"Bearer {token}"}


def put(api: tuple[FlaskClient, dict[str, str]], path: str, name: str, data: bytes,
        content_type: str = "application/octet-stream") -> Any:
    client, headers = api
    return client.put(f"{API}/pages/{path}/files/{name}", data=data, headers={**headers, "Content-Type": content_type})


# -- names and contents (no Flask) ------------------------------------------------------------


@pytest.mark.parametrize("name", ["plan.png", "plan-d-acces.jpeg", "notice_2025.pdf", "a.webm", "0.csv"])
def test_valid_attachment_names(name: str) -> None:
    assert paths.validate_attachment_name(name) == name


@pytest.mark.parametrize("name", ["../x.png", "-x.png", "_x.png", "X.png", "plan.PNG", "plan", "plan.", ".png",
                                  "a.b.png", "plan.svg", "page.html", "x.exe", "a/b.png", "x.png\0", "é.png",
                                  "x" * 101 + ".png", "x.md", ""])
def test_invalid_attachment_names(name: str) -> None:
    with pytest.raises(InvalidPath):
        paths.validate_attachment_name(name)


def test_upload_names_are_made_valid() -> None:
    assert paths.attachment_name_for("Plan d'accès.PNG") == "plan-d-acces.png"
    assert paths.attachment_name_for("C:\\Users\\moi\\Notice RSA 2025.pdf") == "notice-rsa-2025.pdf"
    with pytest.raises(InvalidPath):
        paths.attachment_name_for("dessin.svg")


def test_types_cover_every_extension() -> None:
    assert set(attachments.TYPES) == set(paths.ATTACHMENT_EXTENSIONS)


@pytest.mark.parametrize(("name", "data"), [
    ("photo.png", HTML), ("photo.jpg", PNG), ("photo.gif", PNG), ("photo.webp", JPEG), ("notice.pdf", HTML),
    ("doc.docx", HTML), ("son.mp3", HTML), ("film.mp4", HTML), ("image.png", SVG), ("texte.txt", b"a\0b"),
    ("vide.png", b""),
])
def test_contents_must_match_their_extension(name: str, data: bytes) -> None:
    with pytest.raises(BadRequest):
        attachments.check(name, data, LIMIT)


def test_size_limit() -> None:
    assert attachments.check("notes.txt", b"x" * LIMIT, LIMIT)
    with pytest.raises(TooLarge):
        attachments.check("notes.txt", b"x" * (LIMIT + 1), LIMIT)


# -- the service ---------------------------------------------------------------------------------


def test_attach_commits_the_file_next_to_the_page(services: Commons) -> None:
    services.pages.save("guides/rsa", "# RSA\n", "création", None, ALICE)
    count, revisions = git_count(services), services.pages.revisions("guides/rsa")[1]
    rev = services.pages.attach("guides/rsa", "plan.png", PNG, ALICE)
    assert git_count(services) == count + 1 and services.store.head() == rev
    assert services.store.read_file(rev, "guides/rsa/plan.png") == PNG
    assert attachments.names(services.store, "guides/rsa") == ["plan.png"]
    assert services.pages.revisions("guides/rsa")[1] == revisions  # the page's text did not change
    with pytest.raises(NotFound):
        services.pages.attach("guides/absente", "plan.png", PNG, ALICE)


def test_attachments_move_with_their_page(services: Commons) -> None:
    services.pages.save("guides/rsa", "# RSA\n\n![Plan](plan.png)\n", "création", None, ALICE)
    services.pages.attach("guides/rsa", "plan.png", PNG, ALICE)
    services.pages.move("guides/rsa", "aides/rsa", None, ALICE)
    assert attachments.names(services.store, "aides/rsa") == ["plan.png"]
    assert attachments.names(services.store, "guides/rsa") == []


# -- the API -------------------------------------------------------------------------------------------


def test_api_upload_and_serve_an_image(api: tuple[FlaskClient, dict[str, str]]) -> None:
    response = put(api, "guides/rsa", "plan.png", PNG, "image/png")
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["url"] == "/-/files/guides/rsa/plan.png"
    served = api[0].get("/-/files/guides/rsa/plan.png")
    assert served.status_code == 200 and served.data == PNG
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Security-Policy"] == "default-src 'none'"
    assert served.headers["Content-Disposition"].startswith("inline")
    again = api[0].get("/-/files/guides/rsa/plan.png", headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304
    part = api[0].get("/-/files/guides/rsa/plan.png", headers={"Range": "bytes=0-7"})
    assert part.status_code == 206 and part.data == PNG[:8]  # audio and video can be sought


@pytest.mark.parametrize(("name", "data", "mimetype"), [
    ("notice.pdf", PDF, "application/pdf"), ("notes.txt", b"<b>texte</b>", "text/plain"),
    ("budget.csv", b"a;b\n1;2\n", "text/csv"), ("lettre.docx", b"PK\x03\x04rest", None),
])
def test_documents_are_downloads(api: tuple[FlaskClient, dict[str, str]], name: str, data: bytes,
                                 mimetype: str | None) -> None:
    assert put(api, "guides/rsa", name, data).status_code == 201
    served = api[0].get(f"/-/files/guides/rsa/{name}")
    assert served.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Security-Policy"] == "default-src 'none'"
    if mimetype:
        assert served.mimetype == mimetype


def test_upload_limit_is_413(api: tuple[FlaskClient, dict[str, str]]) -> None:
    assert put(api, "guides/rsa", "notes.txt", b"x" * LIMIT).status_code == 201
    response = put(api, "guides/rsa", "gros.txt", b"x" * (LIMIT + 1))
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "too_large"
    huge = put(api, "guides/rsa", "enorme.txt", b"x" * (LIMIT + 200_000))  # refused before it is read
    assert huge.status_code == 413 and huge.is_json


@pytest.mark.parametrize(("name", "data"), [
    ("photo.png", HTML),        # HTML disguised as an image
    ("dessin.svg", SVG),        # SVG may carry script: refused
    ("page.html", HTML),        # unknown extension
    ("programme.exe", b"MZ"),
    ("-plan.png", PNG),         # would read as an option
    ("..%2Fplan.png", PNG),     # path traversal
    ("Plan.png", PNG),
])
def test_hostile_uploads_are_refused(api: tuple[FlaskClient, dict[str, str]], name: str, data: bytes) -> None:
    response = put(api, "guides/rsa", name, data, "image/png")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.is_json and response.get_json()["error"]["message"]


def test_traversal_in_the_page_path(api: tuple[FlaskClient, dict[str, str]]) -> None:
    assert put(api, "guides/../rsa", "plan.png", PNG).status_code == 400
    assert put(api, "guides/rsa/..", "plan.png", PNG).status_code == 400


def test_uploads_need_a_contributor_and_a_page(api: tuple[FlaskClient, dict[str, str]], small: Flask) -> None:
    client, _ = api
    assert client.put(f"{API}/pages/guides/rsa/files/plan.png", data=PNG).status_code == 401
    add_user(small, "rita", "reader")
    reader = {"Authorization": "Bearer " + small.extensions["commons"].accounts.new_token("rita")}
    assert put((client, reader), "guides/rsa", "plan.png", PNG).status_code == 403
    assert put(api, "guides/absente", "plan.png", PNG).status_code == 404


def test_a_page_under_a_folder_called_files_can_still_be_saved(api: tuple[FlaskClient, dict[str, str]]) -> None:
    client, headers = api
    response = client.put(f"{API}/pages/guides/files/liste", json={"markdown": "# Liste\n", "base_rev": None},
                          headers=headers)
    assert response.status_code == 201 and response.get_json()["path"] == "guides/files/liste"


def test_serving_missing_or_invalid_files(small: Flask) -> None:
    client = small.test_client()
    for url in ("/-/files/guides/rsa/absent.png", "/-/files/guides/rsa/x.svg", "/-/files/plan.png",
                "/-/files/guides/rsa/../../etc/passwd", "/-/files/guides/rsa"):
        assert client.get(url).status_code in (400, 404), url


# -- the web: upload form, embedding, accessibility ---------------------------------------------------


@pytest.fixture
def browser(small: Flask) -> FlaskClient:
    client = small.test_client()
    add_user(small, "alice")
    login(client, "alice")
    return client


def upload(client: FlaskClient, data: bytes, filename: str, token: str | None = None, **fields: str) -> Any:
    form: dict[str, Any] = {"file": (io.BytesIO(data), filename), **fields}
    if token is not None:
        form["csrf_token"] = token
    return client.post("/-/upload/guides/rsa", data=form, content_type="multipart/form-data")


def test_upload_form(browser: FlaskClient, small: Flask) -> None:
    edit = browser.get("/-/edit/guides/rsa").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in edit and 'action="/-/upload/guides/rsa"' in edit
    token = csrf_token(browser, "/-/edit/guides/rsa")
    assert upload(browser, PNG, "plan.png").status_code == 400  # no CSRF token
    response = upload(browser, b"\xff\xd8\xff\xe0" + bytes(range(256)), "Photo Mairie.JPG", token)
    assert response.status_code == 303 and response.headers["Location"] == "/-/edit/guides/rsa"
    assert attachments.names(small.extensions["commons"].store, "guides/rsa") == ["photo-mairie.jpg"]
    assert "photo-mairie.jpg" in browser.get("/-/edit/guides/rsa").get_data(as_text=True)
    assert upload(browser, HTML, "photo.png", token).status_code == 400
    assert upload(browser, b"x" * (LIMIT + 1), "notes.txt", token).status_code == 413
    assert upload(browser, PNG, "plan.png", token, name="../plan.png").status_code == 303  # made a valid name


def test_embedding_in_a_page(browser: FlaskClient, small: Flask) -> None:
    services: Commons = small.extensions["commons"]
    services.pages.attach("guides/rsa", "plan.png", PNG, ALICE)
    services.pages.attach("guides/rsa", "notice.pdf", PDF, ALICE)
    rev = services.pages.state("guides/rsa").rev  # type: ignore[union-attr]
    services.pages.save("guides/rsa", "# RSA\n\n![Plan d'accès](plan.png)\n\n[La notice](notice.pdf)\n", "", rev, ALICE)
    page = browser.get("/guides/rsa").get_data(as_text=True)
    assert 'src="/-/files/guides/rsa/plan.png"' in page and 'alt="Plan d\'accès"' in page
    assert 'href="/-/files/guides/rsa/notice.pdf"' in page
    assert browser.get("/-/files/guides/rsa/plan.png").status_code == 200


def test_images_without_alt_text_are_flagged_in_the_preview(browser: FlaskClient) -> None:
    token = csrf_token(browser, "/-/edit/guides/rsa")
    form = {"markdown": "# RSA\n\n![](plan.png)\n\n![Carte](carte.png)\n", "preview": "1", "csrf_token": token}
    page = browser.post("/-/edit/guides/rsa", data=form).get_data(as_text=True)
    assert "sans texte alternatif" in page and "<code>plan.png</code>" in page and "<code>carte.png</code>" not in page
    form["markdown"] = "# RSA\n\n![Carte](carte.png)\n"
    assert "sans texte alternatif" not in browser.post("/-/edit/guides/rsa", data=form).get_data(as_text=True)
