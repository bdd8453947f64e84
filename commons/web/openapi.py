"""The OpenAPI 3 description of ``/-/api/v1``, served at ``/-/api/v1/openapi.json``."""

from __future__ import annotations

from typing import Any


def _error(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Error"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_PATH = {"name": "path", "in": "path", "required": True, "schema": {"type": "string"},
         "description": "page path, e.g. guides/acces-aux-droits"}
_LIMITS = [{"name": n, "in": "query", "schema": {"type": "integer", "minimum": 0}} for n in ("limit", "offset")]
_STR = {"type": "string"}
_REVISION = {"type": "object", "properties": {k: _STR for k in ("rev", "author", "date", "summary", "path")}}

OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Commons API", "version": "1"},
    "servers": [{"url": "/-/api/v1"}],
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {
                "error": {"type": "object", "properties": {"code": _STR, "message": _STR}}}},
            "PageWrite": {"type": "object", "required": ["markdown"], "properties": {
                "markdown": _STR, "summary": _STR, "base_rev": {"type": "string", "nullable": True}}},
        },
    },
    "security": [{"bearer": []}, {}],
    "paths": {
        "/pages": {"get": {"summary": "All pages", "responses": {"200": _ok("pages", {
            "type": "object", "properties": {"pages": {"type": "array", "items": {"type": "object", "properties": {
                k: _STR for k in ("path", "title", "rev", "updated")}}}}})}}},
        "/pages/{path}": {
            "parameters": [_PATH],
            "get": {"summary": "A page (optionally at ?rev=)",
                    "parameters": [{"name": "rev", "in": "query", "schema": _STR}],
                    "responses": {"200": _ok("the page", {"type": "object", "properties": {
                        k: _STR for k in ("path", "title", "markdown", "html", "rev", "updated")}}),
                        "400": _error("invalid path"), "404": _error("no such page")}},
            "put": {"summary": "Create (base_rev null) or save a page",
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/PageWrite"}}}},
                    "responses": {"200": _ok("saved", {"type": "object"}), "201": _ok("created", {"type": "object"}),
                                  "400": _error("bad input"), "401": _error("not logged in"),
                                  "403": _error("not allowed"), "409": _error("changed since base_rev"),
                                  "413": _error("too large")}},
            "delete": {"summary": "Delete a page",
                       "parameters": [{"name": "base_rev", "in": "query", "schema": _STR}],
                       "responses": {"200": _ok("deleted", {"type": "object", "properties": {"rev": _STR}}),
                                     "401": _error("not logged in"), "403": _error("not allowed"),
                                     "404": _error("no such page"), "409": _error("changed since base_rev")}},
        },
        "/pages/{path}/history": {"parameters": [_PATH], "get": {
            "summary": "Revisions of a page, newest first", "parameters": _LIMITS,
            "responses": {"200": _ok("revisions", {"type": "object", "properties": {
                "revisions": {"type": "array", "items": _REVISION}}}), "404": _error("no such page")}}},
        "/pages/{path}/links": {"parameters": [_PATH], "get": {
            "summary": "Pages this page links to, and existing pages that link to it",
            "responses": {"200": _ok("links", {"type": "object", "properties": {
                k: {"type": "array", "items": _STR} for k in ("links_to", "linked_from")}}),
                "400": _error("invalid path"), "404": _error("no such page, and no page links to it")}}},
        "/wanted": {"get": {"summary": "Missing pages, most wanted first (red links and searches that found nothing)",
                            "responses": {"200": _ok("wanted pages", {"type": "object", "properties": {
                                "wanted": {"type": "array", "items": {"type": "object", "properties": {
                                    "path": _STR, "title": _STR, "links": {"type": "integer"},
                                    "searches": {"type": "integer"}}}}}})}}},
        "/recent": {"get": {"summary": "Recent changes", "parameters": _LIMITS[:1], "responses": {
            "200": _ok("changes", {"type": "object", "properties": {
                "changes": {"type": "array", "items": _REVISION}}})}}},
        "/contributors/{name}": {"parameters": [{"name": "name", "in": "path", "required": True, "schema": _STR}],
                                 "get": {"summary": "A contributor", "responses": {
                                     "200": _ok("contributor", {"type": "object"}), "404": _error("unknown")}}},
    },
}
