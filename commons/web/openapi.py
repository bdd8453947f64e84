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
_KIND = {"type": "string", "enum": ["edit", "new", "delete", "restore", "rename"]}
_CHANGE = {"type": "object", "properties": {**{k: _STR for k in ("rev", "author", "date", "summary", "path")},
                                             "kind": _KIND}}
_CHANGE_FILTERS = [
    {"name": "folder", "in": "query", "schema": _STR, "description": "only pages under this folder, e.g. guides"},
    {"name": "author", "in": "query", "schema": _STR, "description": "only changes by this contributor"},
    {"name": "kind", "in": "query", "schema": _KIND},
]

_ID = {"name": "id", "in": "path", "required": True, "schema": _STR, "description": "a suggestion's id"}
_SUGGESTION = {"type": "object", "properties": {
    **{k: _STR for k in ("id", "path", "author", "summary", "status", "created")},
    **{k: {"type": "string", "nullable": True} for k in ("base_rev", "reviewer", "reason", "rev")}}}
_TALK = {"type": "object", "properties": {"path": _STR, "rev": _STR, "messages": {"type": "array", "items": {
    "type": "object", "properties": {"author": _STR, "date": _STR, "html": _STR}}}}}

_INT = {"type": "integer"}
_CONTRIBUTOR = {"type": "object", "properties": {
    "name": _STR, "joined": {"type": "string", "nullable": True},
    "contributions": {"type": "object", "properties": {k: _INT for k in (
        "pages_created", "edits", "restores", "surviving_tokens", "thanks_received", "reviews", "imports",
        "discussions")}}}}
_CREDITS = {"type": "object", "properties": {
    "path": _STR, "rev": _STR, "tokens": _INT,
    "authors": {"type": "array", "items": {"type": "object", "properties": {
        "name": _STR, "share": {"type": "number"}, "tokens": _INT}}},
    "contributions": {"type": "array", "items": {"type": "object", "properties": {
        "name": _STR, "count": _INT, "kind": {"type": "string", "enum": [
            "creation", "edit", "restore", "review", "discussion", "import", "thanks"]}}}}}}

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
        "/pages/{path}/move": {"parameters": [_PATH], "post": {
            "summary": "Rename a page (folder: true moves everything under path/); links to it are rewritten in the "
                       "same commit and the old path answers 301 on the web",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["to"], "properties": {
                    "to": _STR, "base_rev": {"type": "string", "nullable": True}, "summary": _STR,
                    "folder": {"type": "boolean", "default": False}}}}}},
            "responses": {"200": _ok("moved", {"type": "object", "properties": {
                "path": _STR, "rev": _STR, "moved": {"type": "object", "additionalProperties": _STR},
                "rewritten": {"type": "array", "items": _STR}}}),
                "400": _error("invalid name"), "401": _error("not logged in"), "403": _error("not allowed"),
                "404": _error("no such page"),
                "409": _error("a page exists at the new name, or changed since base_rev")}}},
        "/pages/{path}/files/{name}": {
            "parameters": [_PATH, {"name": "name", "in": "path", "required": True, "schema": _STR,
                                   "description": "a-z, 0-9, - and _, then one of the accepted extensions"}],
            "put": {"summary": "Attach a file next to the page (png jpg jpeg gif webp pdf odt ods docx xlsx txt csv "
                               "mp3 ogg mp4 webm); its content must match its extension",
                    "requestBody": {"required": True, "content": {"application/octet-stream": {
                        "schema": {"type": "string", "format": "binary"}}}},
                    "responses": {"201": _ok("stored", {"type": "object", "properties": {"url": _STR}}),
                                  "400": _error("bad name, type or content"), "401": _error("not logged in"),
                                  "403": _error("not allowed"), "404": _error("no such page"),
                                  "413": _error("larger than max_attachment_bytes")}}},
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
        "/recent": {"get": {"summary": "Recent changes, newest first", "parameters": _LIMITS + _CHANGE_FILTERS,
                            "responses": {"200": _ok("changes", {"type": "object", "properties": {
                                "changes": {"type": "array", "items": _CHANGE}}}),
                                "400": _error("bad folder, kind or number")}}},
        "/pages/{path}/suggestions": {"parameters": [_PATH], "post": {
            "summary": "Propose a change (or a new page, base_rev null) for review instead of saving it; anonymous "
                       "visitors may too when the commons allows it",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/PageWrite"}}}},
            "responses": {"201": _ok("stored as a suggestion", {"type": "object", "properties": {"id": _STR}}),
                          "400": _error("bad input"), "401": _error("not logged in (anonymous suggestions are off)"),
                          "409": _error("the page exists (base_rev null) or was deleted"),
                          "413": _error("too large")}}},
        "/suggestions": {"get": {
            "summary": "Suggestions, newest first: every one for maintainers, one's own for others",
            "parameters": [{"name": "status", "in": "query", "schema": {
                "type": "string", "enum": ["open", "accepted", "declined", "all"], "default": "open"}}],
            "responses": {"200": _ok("suggestions", {"type": "object", "properties": {"suggestions": {
                "type": "array", "items": _SUGGESTION}}}),
                "400": _error("unknown status"), "401": _error("not logged in")}}},
        "/suggestions/{id}/accept": {"parameters": [_ID], "post": {
            "summary": "Apply a suggestion (the suggester stays the author, the reviewer is named in a Reviewed-by "
                       "trailer), merged three-way from its base revision",
            "responses": {"200": _ok("accepted", {"type": "object", "properties": {
                "status": _STR, "rev": _STR, "merged": {"type": "boolean"}}}),
                "401": _error("not logged in"), "403": _error("not a maintainer"), "404": _error("unknown id"),
                "409": _error("conflicts with changes made since (it stays open), or already decided")}}},
        "/suggestions/{id}/decline": {"parameters": [_ID], "post": {
            "summary": "Decline a suggestion; the reason is shown to the suggester",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["reason"], "properties": {"reason": _STR}}}}},
            "responses": {"200": _ok("declined", {"type": "object", "properties": {
                "status": _STR, "rev": {"type": "string", "nullable": True}}}),
                "400": _error("no reason"), "401": _error("not logged in"), "403": _error("not a maintainer"),
                "404": _error("unknown id"), "409": _error("already decided")}}},
        "/pages/{path}/talk": {
            "parameters": [_PATH],
            "get": {"summary": "The page's discussion, oldest message first",
                    "responses": {"200": _ok("messages", _TALK), "404": _error("no such page nor discussion")}},
            "post": {"summary": "Add a message, signed with the account's name and dated",
                     "requestBody": {"required": True, "content": {"application/json": {"schema": {
                         "type": "object", "required": ["markdown"], "properties": {"markdown": _STR}}}}},
                     "responses": {"201": _ok("the discussion with the new message", _TALK),
                                   "400": _error("empty message"), "401": _error("not logged in"),
                                   "404": _error("no such page"), "413": _error("too large")}}},
        "/contributors/{name}": {"parameters": [{"name": "name", "in": "path", "required": True, "schema": _STR}],
                                 "get": {"summary": "A contributor and their contributions across the commons",
                                         "responses": {"200": _ok("contributor", _CONTRIBUTOR),
                                                       "404": _error("unknown")}}},
        "/pages/{path}/credits": {"parameters": [_PATH], "get": {
            "summary": "Who wrote how much of the page as it stands, and every kind of contribution to it",
            "responses": {"200": _ok("credits", _CREDITS), "404": _error("no such page")}}},
    },
}
