"""The data of the OpenAPI description: JSON Schemas (2020-12) of what ``/-/api/v1`` reads and answers.

Patterns and limits are those the code enforces (:mod:`commons.paths`, :mod:`commons.pages`,
:mod:`commons.suggestions`, :mod:`commons.talk`); ``tests/test_openapi.py`` checks that they agree.
Response objects list every field they carry (``additionalProperties: false``), so that a field added
to a view without being described here is caught by the schemathesis run.
"""

from __future__ import annotations

from typing import Any

from commons import paths
from commons.changes import KINDS as CHANGE_KINDS
from commons.credits import KINDS as CONTRIBUTION_KINDS
from commons.pages import MAX_SUMMARY
from commons.suggestions import MAX_REASON, STATUSES
from commons.talk import MAX_MESSAGE

Schema = dict[str, Any]

SEGMENT = "[a-z0-9][a-z0-9-]*"
PATH_PATTERN = f"^{SEGMENT}(/{SEGMENT})*$"
ATTACHMENT_PATTERN = "^[a-z0-9][a-z0-9_-]*\\.(" + "|".join(sorted(paths.ATTACHMENT_EXTENSIONS)) + ")$"
REV_PATTERN = "^[0-9a-f]{40}$"
BASE_REV_PATTERN = "^([0-9a-f]{7,40})?$"
SUGGESTION_ID_PATTERN = "^[0-9a-f]{4,16}$"
NOT_BLANK = "\\S"  # at least one character that is not white space


def ref(name: str) -> Schema:
    """A reference to the component schema ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict[str, Schema], optional: tuple[str, ...] = ()) -> Schema:
    """A closed object: every property but the ``optional`` ones is required, nothing else may appear."""
    return {"type": "object", "required": [k for k in properties if k not in optional],
            "properties": properties, "additionalProperties": False}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def nullable(schema: Schema) -> Schema:
    """``schema`` or ``null`` (JSON Schema 2020-12: a list of types, no ``nullable``)."""
    return {**schema, "type": [schema["type"], "null"]}


STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer", "minimum": 0}
DATE: Schema = {"type": "string", "format": "date-time", "description": "ISO 8601 with its UTC offset"}
PAGE_PATH: Schema = {"type": "string", "pattern": PATH_PATTERN, "minLength": 1, "maxLength": paths.MAX_PATH_LENGTH,
                     "examples": ["guides/acces-aux-droits"]}
REV: Schema = {"type": "string", "pattern": REV_PATTERN, "description": "a full commit id"}
BASE_REV: Schema = {"type": ["string", "null"], "pattern": BASE_REV_PATTERN,
                    "description": "the revision the text was written from (7 to 40 hexadecimal digits); "
                                   "null or empty to create a page"}
SUMMARY: Schema = {"type": ["string", "null"], "maxLength": MAX_SUMMARY,
                   "description": "edit summary, one line (white space is folded); null for the default one"}
MARKDOWN: Schema = {"type": "string", "pattern": NOT_BLANK, "description": "the page's whole text (no NUL); "
                    "larger than max_page_bytes (2 MiB by default) answers 413"}

SCHEMAS: dict[str, Schema] = {
    "Error": {"type": "object", "required": ["error"], "properties": {
        "error": obj({"code": STRING, "message": STRING}),
        "current_rev": {**nullable(REV), "description": "409 on a save: the page's revision now (null: deleted)"},
        "current_markdown": {"type": "string", "description": "409 on a save: the page's text now"}}},
    "PageState": obj({"path": PAGE_PATH, "title": STRING, "rev": REV, "updated": DATE}),
    "PageList": obj({"pages": array(ref("PageState"))}),
    "Page": obj({"path": PAGE_PATH, "title": STRING, "markdown": STRING, "html": STRING, "rev": REV,
                 "updated": nullable(DATE)}),
    "PageWrite": {"type": "object", "required": ["markdown"], "properties": {
        "markdown": MARKDOWN, "summary": SUMMARY, "base_rev": BASE_REV}},
    "Saved": obj({"path": PAGE_PATH, "rev": REV, "merged": {
        "type": "boolean", "description": "true when changes made since base_rev were merged in"}}),
    "Deleted": obj({"rev": REV}),
    "Revision": obj({"path": PAGE_PATH, "rev": REV, "author": STRING, "date": DATE, "summary": STRING}),
    "History": obj({"total": INTEGER, "revisions": array(ref("Revision"))}),
    "Change": obj({"path": PAGE_PATH, "rev": REV, "author": STRING, "date": DATE, "summary": STRING,
                   "kind": {"type": "string", "enum": list(CHANGE_KINDS)}}),
    "Changes": obj({"changes": array(ref("Change"))}),
    "SearchResults": obj({"query": STRING, "total": INTEGER, "suggestion": {
        **nullable(STRING), "description": "a corrected query (« vouliez-vous dire »), or null"},
        "results": array(obj({"path": PAGE_PATH, "title": STRING, "snippet": {
            "type": "string", "description": "safe HTML: the words found in <mark>"}, "score": {"type": "number"},
            "updated": nullable(DATE)}))}),
    "Contributor": obj({"name": STRING, "joined": nullable(DATE), "contributions": obj({k: INTEGER for k in (
        "pages_created", "edits", "restores", "surviving_tokens", "thanks_received", "reviews", "imports",
        "discussions")})}),
    "Credits": obj({
        "path": PAGE_PATH, "rev": REV, "tokens": {**INTEGER, "description": "words and symbols of the text"},
        "authors": array(obj({"name": STRING, "share": {"type": "number", "minimum": 0, "maximum": 1},
                              "tokens": INTEGER})),
        "contributions": array(obj({"name": STRING, "kind": {"type": "string", "enum": list(CONTRIBUTION_KINDS)},
                                    "count": INTEGER}))}),
    "Links": obj({"path": PAGE_PATH, "links_to": array(PAGE_PATH), "linked_from": array(PAGE_PATH)}),
    "Wanted": obj({"wanted": array(obj({"path": PAGE_PATH, "title": STRING, "links": INTEGER,
                                        "searches": INTEGER}))}),
    "MoveRequest": {"type": "object", "required": ["to"], "properties": {
        "to": {**PAGE_PATH, "description": "the new path"}, "base_rev": BASE_REV, "summary": SUMMARY,
        "folder": {"type": "boolean", "default": False, "description": "move every page under path/ too"}}},
    "Moved": obj({"path": PAGE_PATH, "rev": REV,
                  "moved": {"type": "object", "additionalProperties": PAGE_PATH,
                            "description": "old path -> new path of every page moved"},
                  "rewritten": {**array(PAGE_PATH), "description": "pages whose links were rewritten"}}),
    "Attached": obj({"url": {"type": "string", "description": "where the file is served"},
                     "path": PAGE_PATH, "name": {"type": "string", "pattern": ATTACHMENT_PATTERN}}),
    "SuggestionCreated": obj({"id": {"type": "string", "pattern": SUGGESTION_ID_PATTERN}}),
    "Suggestion": obj({
        "id": {"type": "string", "pattern": SUGGESTION_ID_PATTERN}, "path": PAGE_PATH, "author": STRING,
        "summary": STRING, "status": {"type": "string", "enum": list(STATUSES)}, "base_rev": nullable(REV),
        "created": DATE, "reviewer": nullable(STRING), "reason": nullable(STRING), "rev": nullable(REV)}),
    "Suggestions": obj({"suggestions": array(ref("Suggestion"))}),
    "Accepted": obj({"status": {"const": "accepted"}, "rev": REV, "merged": {"type": "boolean"}}),
    "Declined": obj({"status": {"const": "declined"}, "rev": {"type": "null"}}),
    "Decline": {"type": "object", "required": ["reason"], "properties": {"reason": {
        "type": "string", "pattern": NOT_BLANK, "maxLength": MAX_REASON, "description": "shown to the suggester"}}},
    "Talk": obj({"path": PAGE_PATH, "rev": REV, "messages": array(obj({
        "author": STRING, "date": DATE, "html": {"type": "string", "description": "the message, safe HTML"}}))},
        optional=("rev",)),
    "TalkPost": {"type": "object", "required": ["markdown"], "properties": {"markdown": {
        "type": "string", "pattern": NOT_BLANK, "maxLength": MAX_MESSAGE}}},
}

SECURITY_SCHEMES: dict[str, Schema] = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "a personal API token (`commons user token NAME`, or the profile page); a bad, "
                              "revoked or blocked token answers 401 on every operation"},
    "cookie": {"type": "apiKey", "in": "cookie", "name": "session",
               "description": "the web session of a logged-in browser; PUT, POST and DELETE then also need the "
                              "form's CSRF token in an X-CSRFToken header (400 without it)"},
}
