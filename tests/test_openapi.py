"""The OpenAPI 3.1 description of /-/api/v1: valid, complete, and in agreement with the code and its answers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import add_user
from flask import Flask
from flask.testing import FlaskClient

from commons import paths
from commons.errors import BadRequest
from commons.pages import clean_rev
from commons.suggestions import valid_id
from commons.web.openapi_schemas import (
    ATTACHMENT_PATTERN,
    BASE_REV_PATTERN,
    PATH_PATTERN,
    SUGGESTION_ID_PATTERN,
)

jsonschema_rs = pytest.importorskip("jsonschema_rs")  # comes with schemathesis (the test extra)

API = "/-/api/v1"
METHODS = {"get", "put", "post", "delete", "patch"}


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return dict(response.get_json())


def _template(rule: str) -> str:
    """``/pages/<path:path>/files/<name>`` and ``/pages/{path}/files/{name}`` both give ``/pages/{}/files/{}``."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", rule)


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) of a JSON document, depth first."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def test_every_api_route_is_described_and_nothing_else(app: Flask, spec: dict[str, Any]) -> None:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API + "/") and rule.endpoint != "api.unknown":  # the catch-all 404
            routes |= {(_template(rule.rule[len(API):]), m.lower()) for m in rule.methods or ()
                       if m not in ("HEAD", "OPTIONS")}
    described = {(_template(path), method) for path, item in spec["paths"].items() for method in item
                 if method in METHODS}
    assert routes - described == set(), "routes missing from openapi.json"
    assert described - routes == set(), "described operations with no route"
    assert len(described) >= 20


def test_it_is_openapi_31_with_json_schema_2020_12(spec: dict[str, Any]) -> None:
    from schemathesis.specs.openapi.definitions import OPENAPI_31

    assert spec["openapi"] == "3.1.0"
    jsonschema_rs.Draft202012Validator(OPENAPI_31).validate(spec)
    keys = [key for key, _ in _walk(spec)]
    assert "nullable" not in keys and "example" not in [k for k, _ in _walk(spec["components"])]
    for name, schema in spec["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid({"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}), name
    for key, value in _walk(spec):
        if key == "$ref":
            _, _, kind, name = value.split("/")
            assert name in spec["components"][kind], value
    assert set(spec["components"]["securitySchemes"]) == {"bearer", "cookie"}


def test_every_operation_answers_errors_in_the_shared_schema(spec: dict[str, Any]) -> None:
    ids = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            ids.append(operation["operationId"])
            statuses = set(operation["responses"])
            assert "401" in statuses, f"{method} {path}: a bad token answers 401 everywhere"
            assert any(s.startswith("2") for s in statuses), f"{method} {path}"
            for status, response in operation["responses"].items():
                schema = response["content"]["application/json"]["schema"]
                if status >= "400":
                    assert schema == {"$ref": "#/components/schemas/Error"}, f"{method} {path} {status}"
            if method in ("put", "post", "delete") and operation["operationId"] != "suggest":
                assert operation["security"] == [{"bearer": []}, {"cookie": []}], f"{method} {path}"
                assert {"400", "403", "429"} <= statuses, f"{method} {path}"
            if "requestBody" in operation:
                assert {"400", "413"} <= statuses, f"{method} {path}"
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("text", [
    "home", "guides/acces-aux-droits", "a", "0", "a-b/c-d/e", "a" * 200, "a" * 201, "", "-x", "a/-x", "a//b", "/a",
    "a/", "Majuscule", "café", "a b", "a_b", "a.b", "../etc", "a\nb", "a/b\n", "a\x00", ".git/config",
])
def test_the_path_pattern_is_the_code_s(text: str) -> None:
    schema = {"type": "string", "pattern": PATH_PATTERN, "minLength": 1, "maxLength": paths.MAX_PATH_LENGTH}
    assert jsonschema_rs.is_valid(schema, text) == paths.is_valid_path(text)  # ECMA 262 regex, as in schemathesis


@pytest.mark.parametrize("text", [
    "plan.png", "plan-d_acces.pdf", "a.txt", "notes.csv", "x.PNG", "x.svg", "x.html", "_x.png", "x", "x.png.exe",
    "x/y.png", "x" * 96 + ".png", "x" * 97 + ".png", "é.png",
])
def test_the_attachment_pattern_is_the_code_s(text: str) -> None:
    schema = {"type": "string", "pattern": ATTACHMENT_PATTERN, "maxLength": paths.MAX_ATTACHMENT_NAME}
    assert jsonschema_rs.is_valid(schema, text) == paths.is_attachment_name(text)


@pytest.mark.parametrize("text", ["", "abcdef0", "a" * 40, "abcdef", "a" * 41, "ABCDEF0", "g" * 10, "abc def0"])
def test_the_revision_and_id_patterns_are_the_code_s(text: str) -> None:
    try:
        accepted = clean_rev(text) is not None or text == ""
    except BadRequest:
        accepted = False
    assert jsonschema_rs.is_valid({"pattern": BASE_REV_PATTERN}, text) == accepted
    assert jsonschema_rs.is_valid({"pattern": SUGGESTION_ID_PATTERN}, text) == valid_id(text)


# -- real answers, checked against the described schema of their status ------------------------------------


def _check(spec: dict[str, Any], template: str, method: str, response: Any) -> int:
    """The response's status is described for the operation and its JSON body validates against its schema."""
    operation = spec["paths"][template][method]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method} {template}: undescribed {status} {response.get_data()!r}"
    assert response.mimetype == "application/json"
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    validator = jsonschema_rs.validator_for({**schema, "components": spec["components"]}, validate_formats=True)
    validator.validate(response.get_json())
    return response.status_code


def test_real_answers_match_the_description(app: Flask, client: FlaskClient, spec: dict[str, Any]) -> None:
    services = app.extensions["commons"]
    add_user(app, "mia", "maintainer")
    auth = {"Authorization": "Bearer " + services.accounts.new_token("mia")}
    bad = {"Authorization": "Bearer cmn_faux"}

    def call(method: str, template: str, url: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        response = client.open(API + url, method=method.upper(), headers=auth if headers is None else headers, **kwargs)
        _check(spec, template, method, response)
        return response

    created = call("put", "/pages/{path}", "/pages/guides/rsa", json={"markdown": "# RSA\n\nVoir [[caf]].",
                                                                     "base_rev": None}).get_json()
    rev = created["rev"]
    assert call("put", "/pages/{path}", "/pages/guides/rsa", json={"markdown": "# RSA\n\nVoir [[caf]] !",
                                                                  "base_rev": rev}).status_code == 200
    assert call("put", "/pages/{path}", "/pages/guides/rsa", json={"markdown": "# Autre", "base_rev": None},
                ).get_json()["current_rev"]
    statuses = [
        call("get", "/pages", "/pages"), call("get", "/pages", "/pages", bad),
        call("get", "/pages/{path}", "/pages/guides/rsa"), call("get", "/pages/{path}", f"/pages/guides/rsa?rev={rev}"),
        call("get", "/pages/{path}", "/pages/Nope"), call("get", "/pages/{path}", "/pages/absente"),
        call("get", "/pages/{path}/history", "/pages/guides/rsa/history?limit=1"),
        call("get", "/pages/{path}/history", "/pages/guides/rsa/history?limit=%C2%B2"),
        call("get", "/pages/{path}/credits", "/pages/guides/rsa/credits"),
        call("get", "/pages/{path}/links", "/pages/guides/rsa/links"),
        call("get", "/pages/{path}/links", "/pages/caf/links"),
        call("get", "/search", "/search?q=rsa"), call("get", "/search", "/search?q=%20"),
        call("get", "/recent", "/recent?kind=edit&folder=guides"), call("get", "/recent", "/recent?kind=autre"),
        call("get", "/wanted", "/wanted"), call("get", "/contributors/{name}", "/contributors/MIA"),
        call("get", "/contributors/{name}", "/contributors/personne"),
        call("put", "/pages/{path}/files/{name}", "/pages/guides/rsa/files/horaires.txt", data=b"Lundi\n",
             content_type="application/octet-stream"),
        call("put", "/pages/{path}/files/{name}", "/pages/guides/rsa/files/image.png", data=b"<svg/>"),
        call("post", "/pages/{path}/talk", "/pages/guides/rsa/talk", json={"markdown": "Une question ?"}),
        call("get", "/pages/{path}/talk", "/pages/guides/rsa/talk"),
        call("post", "/pages/{path}/suggestions", "/pages/guides/rsa/suggestions", json={"markdown": "# Non"}),
    ]
    ident = call("post", "/pages/{path}/suggestions", "/pages/guides/rsa/suggestions",
                 json={"markdown": "# RSA\n\nVoir [[caf]] ! Et la CAF.", "base_rev": rev}).get_json()["id"]
    statuses += [
        call("get", "/suggestions", "/suggestions?status=all"), call("get", "/suggestions", "/suggestions?status=x"),
        call("post", "/suggestions/{id}/decline", f"/suggestions/{ident}/decline", json={}),
        call("post", "/suggestions/{id}/accept", f"/suggestions/{ident}/accept"),
        call("post", "/suggestions/{id}/decline", f"/suggestions/{ident}/decline", json={"reason": "Déjà fait"}),
        call("post", "/suggestions/{id}/accept", "/suggestions/ffff0000/accept"),
        call("post", "/pages/{path}/move", "/pages/guides/rsa/move", json={"to": "aides/rsa", "base_rev": None}),
        call("post", "/pages/{path}/move", "/pages/guides/rsa/move", json={"to": "x"}),
        call("delete", "/pages/{path}", "/pages/aides/rsa?base_rev=" + "0" * 40),
        call("delete", "/pages/{path}", "/pages/aides/rsa"),
        call("delete", "/pages/{path}", "/pages/aides/rsa", {}),
    ]
    assert {r.status_code for r in statuses} == {200, 201, 400, 401, 404, 409}
