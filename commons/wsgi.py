"""WSGI entry point for process-based servers (gunicorn, uWSGI, mod_wsgi).

The application is built by the factory, in each worker process, on the
commons in ``$COMMONS_DATA`` (else ``./commons-data``) with the usual
``COMMONS_*`` settings::

    COMMONS_DATA=/srv/commons gunicorn -w 4 -k gthread --threads 4 'commons.wsgi:app'
    COMMONS_DATA=/srv/commons gunicorn -w 4 'commons.wsgi:create()'

Importing this module builds nothing: ``app`` (or ``application``) is
created on first access, so a server that forks after importing still
builds one application, with its own git processes and database
connections, per worker.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["create"]  # and ``app``/``application``, built on first access (see ``__getattr__``)


def create() -> Flask:
    """A new application on ``$COMMONS_DATA`` (the app factory, for ``gunicorn 'commons.wsgi:create()'``)."""
    from commons import create_app
    from commons.config import load_settings
    from commons.repair import discard_damaged

    discard_damaged(load_settings())  # rebuilt from git by the app's start-up catch-up
    return create_app()


@functools.cache
def _shared() -> Flask:
    return create()


def __getattr__(name: str) -> Flask:
    """``commons.wsgi.app`` and ``commons.wsgi.application``: this process's application, built once."""
    if name in ("app", "application"):
        return _shared()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def behind_proxies(app: Flask, count: int) -> Flask:
    """Trust ``count`` reverse proxies (nginx...) for the client address and scheme.

    Behind a proxy every request comes from 127.0.0.1: without this, rate limits would count
    everyone as one client. ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are read from the
    ``count`` nearest proxies only, so a client cannot forge its own address.
    """
    if count > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]
    return app


def gunicorn_available() -> bool:
    """True when gunicorn can be imported (the ``serve`` extra) on a system with ``fork``."""
    import importlib.util
    import os

    return hasattr(os, "fork") and importlib.util.find_spec("gunicorn") is not None


def serve_gunicorn(data_dir: str, host: str, port: int, workers: int, threads: int, proxies: int = 0,
                   timeout: int = 120) -> None:
    """Run gunicorn in this process (the master): ``workers`` processes of ``threads`` threads each.

    Each worker builds its own application from the factory on ``data_dir``
    (no preloading: git processes and database connections are never shared
    across a fork). Returns when gunicorn stops (SIGTERM/SIGINT: graceful).
    """
    import os

    from gunicorn.app.base import BaseApplication

    os.environ["COMMONS_DATA"] = data_dir
    options: dict[str, object] = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": timeout,
        "graceful_timeout": 30,
        "preload_app": False,
        "proc_name": "commons",
        "errorlog": "-",
        "loglevel": "info",
        "control_socket_disable": True,  # gunicorn >= 25: no socket in $HOME shared by every instance
    }

    class _Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                if key in self.cfg.settings:
                    self.cfg.set(key, value)

        def load(self) -> Flask:
            return behind_proxies(create(), proxies)

    _Gunicorn().run()
