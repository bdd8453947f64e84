"""The OpenAPI 3.1 description of ``/-/api/v1``, served at ``/-/api/v1/openapi.json``.

Every JSON route of the API is described here with every status it can answer (``tests/test_openapi.py``
walks the URL map, and ``tests/test_schemathesis.py`` runs schemathesis against a live server from this
description). The schemas themselves are in :mod:`commons.web.openapi_schemas`.
"""

from __future__ import annotations

from typing import Any

from commons.web.openapi_schemas import (
    ATTACHMENT_PATTERN,
    BASE_REV_PATTERN,
    PAGE_PATH,
    SCHEMAS,
    SECURITY_SCHEMES,
    SEGMENT,
    SUGGESTION_ID_PATTERN,
    SUMMARY,
    Schema,
    ref,
)

# Anyone may read (a token or a session only changes who is asking); writing needs an account.
READ: list[dict[str, list[str]]] = [{}, {"bearer": []}, {"cookie": []}]
WRITE: list[dict[str, list[str]]] = [{"bearer": []}, {"cookie": []}]

ERRORS = {
    400: "bad input (the message says which), or a session without its CSRF token",
    401: "not logged in, or a bad, revoked or blocked token",
    403: "not allowed (role, or a protected page)",
    404: "no such page, or no such address",
    409: "conflict",
    413: "too large",
    429: "too many writes in a row with this account",
}


def _json(description: str, schema: Schema) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(schema: Schema, media: str = "application/json") -> dict[str, Any]:
    return {"required": True, "content": {media: {"schema": schema}}}


def op(ident: str, summary: str, ok: dict[int, tuple[str, Schema]], errors: dict[int, str],
       *, parameters: list[dict[str, Any]] | None = None, body: dict[str, Any] | None = None,
       write: bool = False, links: dict[str, Any] | None = None) -> dict[str, Any]:
    """One operation: its successful answers ``ok`` (with ``links`` to what may follow), its ``errors``
    (status -> when; empty: the usual words)."""
    responses = {str(status): _json(text, schema) for status, (text, schema) in ok.items()}
    for status in ok if links else ():
        responses[str(status)]["links"] = links
    if body is not None:  # any body over max_body_bytes (5 MiB by default) is refused before it is read
        errors = {413: "", **errors}
    responses.update({str(status): _json(text or ERRORS[status], ref("Error")) for status, text in errors.items()})
    operation: dict[str, Any] = {"operationId": ident, "summary": summary, "security": WRITE if write else READ,
                                 "responses": dict(sorted(responses.items()))}
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = body
    return operation


def _query(name: str, schema: Schema, description: str = "") -> dict[str, Any]:
    parameter = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        parameter["description"] = description
    return parameter


def _number(name: str, digits: int, description: str) -> dict[str, Any]:
    """A non-negative integer query parameter; more than ``digits`` digits answers 400."""
    return _query(name, {"type": "integer", "minimum": 0, "maximum": 10 ** digits - 1}, description)


def _follow(parameter: str, pointer: str, *operations: str) -> dict[str, Any]:
    """OpenAPI links: the answer's ``pointer`` (e.g. ``/path``) is the ``parameter`` of each of ``operations``."""
    return {ident: {"operationId": ident, "parameters": {parameter: f"$response.body#{pointer}"}}
            for ident in operations}


PAGE_LINKS = _follow("path", "/path", "getPage", "pageHistory", "pageCredits", "pageLinks", "talk", "postTalk",
                     "suggest", "attachFile", "movePage", "deletePage")
PATH = {"name": "path", "in": "path", "required": True, "schema": PAGE_PATH, "example": "guides/rsa",
        "description": "page path: lowercase segments of a-z, 0-9 and - separated by /"}
SUGGESTION = {"name": "id", "in": "path", "required": True, "description": "a suggestion's id",
              "schema": {"type": "string", "pattern": SUGGESTION_ID_PATTERN}}
PAGING = [_number("limit", 9, "how many (at most 500; 0 counts as 1)"), _number("offset", 9, "how many to skip")]
RECENT_FILTERS = [
    _query("folder", {"type": "string", "pattern": f"^({SEGMENT}(/{SEGMENT})*)?$", "maxLength": 200},
           "only pages under this folder, e.g. guides"),
    _query("author", {"type": "string", "maxLength": 200}, "only changes by this contributor"),
    _query("kind", {"type": "string", "enum": ["", "edit", "new", "delete", "restore", "rename"]}),
]
WRITE_ERRORS = {400: "", 401: "", 403: "", 404: "", 429: ""}

PAGES: dict[str, Any] = {
    "/pages": {"get": op("listPages", "All pages, by path", {200: ("pages", ref("PageList"))}, {401: ""})},
    "/pages/{path}": {
        "parameters": [PATH],
        "get": op("getPage", "A page as it stands, or at revision ?rev=", {200: ("the page", ref("Page"))},
                  {400: "invalid path or number", 401: "", 404: "no such page, or not at that revision"},
                  parameters=[_query("rev", {"type": "string", "pattern": "^([0-9a-fA-F]{4,40})?$"},
                                     "a commit id, full or abbreviated (empty: as it stands)")]),
        "put": op("savePage", "Create (base_rev null) or save a page; changes made since base_rev are merged",
                  {200: ("saved", ref("Saved")), 201: ("created", ref("Saved"))},
                  {**WRITE_ERRORS, 409: "changed since base_rev at the same places, or created meanwhile: "
                                        "current_rev and current_markdown say how it stands", 413: ""},
                  body=_body(ref("PageWrite")), write=True, links=PAGE_LINKS),
        "delete": op("deletePage", "Delete a page", {200: ("deleted", ref("Deleted"))},
                     {**WRITE_ERRORS, 409: "changed since base_rev"}, write=True,
                     parameters=[_query("base_rev", {"type": "string", "pattern": BASE_REV_PATTERN},
                                        "refuse (409) if the page changed since this revision")]),
    },
    "/pages/{path}/history": {"parameters": [PATH], "get": op(
        "pageHistory", "Revisions of a page, newest first (with those under its former names)",
        {200: ("revisions", ref("History"))}, {400: "invalid path or number", 401: "", 404: "no history"},
        parameters=PAGING)},
    "/pages/{path}/move": {"parameters": [PATH], "post": op(
        "movePage", "Rename a page (folder: true moves everything under path/); links to it are rewritten in the "
                    "same commit and the old path answers 301 on the web",
        {200: ("moved", ref("Moved"))},
        {**WRITE_ERRORS, 409: "a page exists at the new name, or changed since base_rev"},
        body=_body(ref("MoveRequest")), write=True, links=PAGE_LINKS)},
    "/pages/{path}/files/{name}": {
        "parameters": [PATH, {"name": "name", "in": "path", "required": True, "description": "the file's name",
                              "schema": {"type": "string", "pattern": ATTACHMENT_PATTERN, "maxLength": 100},
                              "example": "horaires.txt"}],
        "put": op("attachFile", "Attach a file next to the page; its content must match its extension",
                  {201: ("stored", ref("Attached"))},
                  {**WRITE_ERRORS, 400: "bad name, type or content", 413: "larger than max_attachment_bytes"},
                  body=_body({"type": "string", "format": "binary", "examples": ["Ouvert du lundi au vendredi.\n"]},
                             "application/octet-stream"), write=True,
                  parameters=[_query("summary", SUMMARY, "the commit message")])},
    "/pages/{path}/links": {"parameters": [PATH], "get": op(
        "pageLinks", "Pages this page links to, and existing pages that link to it", {200: ("links", ref("Links"))},
        {400: "invalid path", 401: "", 404: "no such page, and no page links to it"})},
    "/pages/{path}/credits": {"parameters": [PATH], "get": op(
        "pageCredits", "Who wrote how much of the page as it stands (shares sum to 1), and every other kind of "
                       "contribution to it", {200: ("credits", ref("Credits"))},
        {400: "invalid path", 401: "", 404: "no such page"})},
}

COMMONS: dict[str, Any] = {
    "/search": {"get": op(
        "search", "Full-text search", {200: ("results, best first", ref("SearchResults"))},
        {400: "no query, or a bad number", 401: "", 404: ""},
        parameters=[{**_query("q", {"type": "string", "pattern": "\\S"}, "the words to find (the first 500 "
                                                                          "characters)"), "required": True},
                    _number("limit", 6, "how many (at most 100)"), _number("offset", 6, "how many to skip")])},
    "/recent": {"get": op("recentChanges", "Recent changes, newest first", {200: ("changes", ref("Changes"))},
                          {400: "bad folder, author, kind or number", 401: ""}, parameters=PAGING + RECENT_FILTERS)},
    "/wanted": {"get": op("wantedPages", "Missing pages, most wanted first (red links and searches that found "
                                         "nothing)", {200: ("wanted pages", ref("Wanted"))}, {401: ""})},
    "/contributors/{name}": {
        "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1},
                        "description": "an account's name (any case) or an imported author's"}],
        "get": op("contributor", "A contributor and their contributions across the commons",
                  {200: ("contributor", SCHEMAS["Contributor"])}, {401: "", 404: "unknown"})},
    "/openapi.json": {"get": op("openapi", "This description", {200: ("OpenAPI 3.1", {"type": "object"})}, {401: ""})},
}

COLLABORATION: dict[str, Any] = {
    "/pages/{path}/suggestions": {"parameters": [PATH], "post": op(
        "suggest", "Propose a change (or a new page, base_rev null) for review instead of saving it",
        {201: ("stored as a suggestion", ref("SuggestionCreated"))},
        {400: "", 401: "not logged in while anonymous suggestions are off, or a bad token", 404: "",
         409: "the page exists (base_rev null) or was deleted", 413: "", 429: ""},
        body=_body(ref("PageWrite")), links=_follow("id", "/id", "acceptSuggestion", "declineSuggestion"))},
    "/suggestions": {"get": op(
        "listSuggestions", "Suggestions, newest first: every one for maintainers, one's own for others",
        {200: ("suggestions", ref("Suggestions"))}, {400: "unknown status", 401: ""},
        parameters=[_query("status", {"type": "string", "enum": ["", "open", "accepted", "declined", "all"],
                                      "default": "open"})])},
    "/suggestions/{id}/accept": {"parameters": [SUGGESTION], "post": op(
        "acceptSuggestion", "Apply a suggestion, merged from its base revision (the suggester stays the author, "
                            "the reviewer is named in a Reviewed-by trailer)", {200: ("accepted", ref("Accepted"))},
        {**WRITE_ERRORS, 403: "not a maintainer", 404: "unknown id",
         409: "conflicts with changes made since (it stays open), or already decided"}, write=True)},
    "/suggestions/{id}/decline": {"parameters": [SUGGESTION], "post": op(
        "declineSuggestion", "Decline a suggestion; the reason is shown to the suggester",
        {200: ("declined", ref("Declined"))},
        {**WRITE_ERRORS, 403: "not a maintainer", 404: "unknown id", 409: "already decided", 413: ""},
        body=_body(ref("Decline")), write=True)},
    "/pages/{path}/talk": {
        "parameters": [PATH],
        "get": op("talk", "The page's discussion, oldest message first", {200: ("messages", ref("Talk"))},
                  {400: "invalid path", 401: "", 404: "no such page nor discussion"}),
        "post": op("postTalk", "Add a message, signed with the account's name and dated",
                   {201: ("the discussion with the new message and its commit", ref("Talk"))},
                   {**WRITE_ERRORS, 403: "", 413: "message or discussion too long"},
                   body=_body(ref("TalkPost")), write=True)},
}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
    "info": {"title": "Commons API", "version": "1",
             "description": "JSON in, JSON out, UTF-8. Errors are {\"error\": {\"code\", \"message\"}} with the "
                            "matching status; never a 500 for bad input.",
             "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"}},
    "servers": [{"url": "/-/api/v1"}],
    "components": {"securitySchemes": SECURITY_SCHEMES, "schemas": SCHEMAS},
    "security": READ,
    "paths": {**PAGES, **COMMONS, **COLLABORATION},
}
