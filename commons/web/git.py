"""Read-only ``git clone http://host/-/git`` of the commons, through ``git http-backend``.

Only the smart HTTP fetch is served: ``info/refs?service=git-upload-pack``
and ``POST git-upload-pack`` (gzip request bodies included), plus ``HEAD``.
Pushing is refused with 403 and a message git shows to the user. Only
branches are advertised and fetchable (``transfer.hideRefs``): suggestion
refs and anything else under ``refs/`` stay private. The wire protocol is
v0 on purpose: a v2 ``upload-pack`` hands out any object asked for by its
id, advertised or not (git clients fall back to v0 by themselves). The POST
is exempt from CSRF: it changes nothing and is not a form.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from io import BufferedReader
from typing import IO, cast

from flask import Blueprint, Flask, Response, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from commons.web import commons, csrf

log = logging.getLogger(__name__)

bp = Blueprint("git", __name__, url_prefix="/-/git")

CHUNK = 64 * 1024
# Everything under refs/ is hidden, then branches are shown again ("!" negates).
_CONFIG = [("transfer.hideRefs", "refs/"), ("transfer.hideRefs", "!refs/heads/"),
           ("http.receivepack", "false"), ("http.getanyfile", "false"), ("uploadpack.allowAnySHA1InWant", "false")]
PUSH_REFUSED = _l("Ce dépôt est en lecture seule : l'envoi (push) anonyme est refusé. "
                   "Proposez vos modifications sur le wiki.")


def register(app: Flask) -> None:
    """Attach the blueprint, exempt from CSRF (read-only, and upload-pack posts are not forms)."""
    app.register_blueprint(bp)
    csrf.exempt(bp)


def _plain(status: int, text: str) -> Response:
    """A text/plain answer: git prints such bodies to the user (``remote: ...``)."""
    if not text.endswith("\n"):
        text += "\n"
    return Response(text, status=status, mimetype="text/plain", headers={"Cache-Control": "no-cache"})


@bp.get("")
@bp.get("/")
def about() -> ResponseReturnValue:
    """What this URL is for, for a human who opens it in a browser."""
    url = request.url_root.rstrip("/") + "/-/git"
    return _plain(200, _("Dépôt git du commons, en lecture seule.") + f"\n\n    git clone {url}\n")


@bp.get("/info/refs")
def info_refs() -> ResponseReturnValue:
    """The ref advertisement, for ``git-upload-pack`` only."""
    service = request.args.get("service", "")
    if service == "git-receive-pack":
        return _plain(403, str(PUSH_REFUSED))
    if service != "git-upload-pack":
        return _plain(403, _("Seul le protocole « smart HTTP » de git est servi ici (git 1.6.6 ou plus récent)."))
    return _backend("/info/refs")


@bp.post("/git-upload-pack")
def upload_pack() -> ResponseReturnValue:
    """The fetch itself: negotiation and the pack."""
    return _backend("/git-upload-pack")


@bp.post("/git-receive-pack")
def receive_pack() -> ResponseReturnValue:
    return _plain(403, str(PUSH_REFUSED))


@bp.get("/HEAD")
def head() -> ResponseReturnValue:
    """The symbolic HEAD, as the dumb protocol reads it."""
    return _plain(200, f"ref: {commons().store.ref}\n")


def _environment(path_info: str) -> dict[str, str]:
    """The CGI environment of ``git http-backend`` for this request."""
    repo = commons().store.repo_dir
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_PROJECT_ROOT": str(repo.parent),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": f"/{repo.name}{path_info}",
        "REQUEST_METHOD": request.method,
        "QUERY_STRING": request.query_string.decode("latin-1"),
        "CONTENT_TYPE": request.headers.get("Content-Type", ""),
        "REMOTE_ADDR": request.remote_addr or "",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_COUNT": str(len(_CONFIG)),
    }
    for index, (key, value) in enumerate(_CONFIG):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    if request.headers.get("Content-Encoding"):
        env["HTTP_CONTENT_ENCODING"] = request.headers["Content-Encoding"]
    # No GIT_PROTOCOL from the client's Git-Protocol header: protocol v2 serves any object asked for by id,
    # hidden refs included (a suggestion's commit); v0 accepts only advertised tips. Clients fall back to v0.
    return env


def _feed(stdin: IO[bytes], body: bytes) -> None:
    """Write the request body to the backend (in a thread: it may answer before reading it all)."""
    try:
        stdin.write(body)
    except (BrokenPipeError, OSError):
        pass
    finally:
        try:
            stdin.close()
        except OSError:
            pass


def _backend(path_info: str) -> Response:
    """Run ``git http-backend`` for this request and stream its answer."""
    body = request.get_data(cache=False) if request.method == "POST" else b""
    errors = tempfile.TemporaryFile()
    proc = subprocess.Popen(["git", "http-backend"], env=_environment(path_info), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=errors)
    assert proc.stdin is not None and proc.stdout is not None
    threading.Thread(target=_feed, args=(proc.stdin, body), daemon=True).start()
    status, headers = _cgi_headers(proc.stdout)
    return Response(_Output(proc, errors), status=status, headers=headers, direct_passthrough=True)


def _cgi_headers(stdout: IO[bytes]) -> tuple[int, list[tuple[str, str]]]:
    """The status and headers the CGI program printed before its body."""
    status, headers = 200, []
    for raw in iter(stdout.readline, b""):
        line = raw.decode("latin-1").rstrip("\r\n")
        if not line:
            break
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split(" ", 1)[0] or 500)
        else:
            headers.append((name.strip(), value.strip()))
    return status, headers


class _Output:
    """The body, chunk by chunk; closing it (even unread) reaps the process and logs its errors."""

    def __init__(self, proc: subprocess.Popen[bytes], errors: IO[bytes]) -> None:
        self.proc = proc
        self.errors = errors

    def __iter__(self) -> Iterator[bytes]:
        assert self.proc.stdout is not None
        stdout = cast(BufferedReader, self.proc.stdout)
        return iter(lambda: stdout.read1(CHUNK), b"")

    def close(self) -> None:
        if self.errors.closed:
            return
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        if self.proc.wait() != 0:
            self.errors.seek(0)
            log.warning("git http-backend exited with %s: %s", self.proc.returncode,
                        self.errors.read().decode("utf-8", "replace").strip()[:500])
        self.errors.close()
