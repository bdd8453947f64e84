"""Settings: defaults, then the data directory's ``config.toml``, then ``COMMONS_*`` variables.

The data directory holds everything of one commons::

    repo.git/      the bare git repository (the source of truth)
    commons.db     accounts (SQLite, unless COMMONS_DATABASE_URL is set)
    cache/         derived stores, rebuilt by ``commons reindex``
    locks/         the write lock shared by every process
    secret_key     the session signing key, created on first use
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

from commons.errors import ConfigError

DEFAULT_DATA = "commons-data"


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one commons."""

    data_dir: Path
    database_url: str = ""
    secret_key: str = ""
    branch: str = "main"
    max_body_bytes: int = 5 * 1024 * 1024
    max_page_bytes: int = 2 * 1024 * 1024
    max_attachment_bytes: int = 20 * 1024 * 1024
    history_page_size: int = 50
    anonymous_can_edit: bool = False
    anonymous_suggestions: bool = True  # visitors without an account may propose changes for review
    default_role: str = "contributor"
    session_cookie_secure: bool = False
    render_cache_size: int = 2000
    site_name: str = "Commons"
    rate_limits: bool = True
    registration: str = "open"  # open, approval, invitation or closed
    redis_url: str = ""
    # argon2id cost (OWASP's defaults); tests lower them through COMMONS_PASSWORD_* to stay fast.
    password_time_cost: int = 3
    password_memory_kib: int = 65536
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def repo_dir(self) -> Path:
        return self.data_dir / "repo.git"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def lock_dir(self) -> Path:
        return self.data_dir / "locks"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'commons.db'}"


_BOOL_TRUE = {"1", "true", "yes", "on", "oui"}


def _coerce(name: str, value: Any, kind: Any) -> Any:
    text_kind = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    try:
        if "bool" in text_kind:
            return value if isinstance(value, bool) else str(value).strip().lower() in _BOOL_TRUE
        if "int" in text_kind:
            return int(value)
        if "Path" in text_kind:
            return Path(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"Réglage {name} invalide : {value!r}") from exc
    return value


def load_settings(
    data_dir: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build the settings of a commons.

    Order (later wins): defaults, ``<data>/config.toml``, ``COMMONS_<NAME>``
    environment variables, then ``overrides`` (used by tests and the CLI).
    The data directory is ``data_dir``, else ``$COMMONS_DATA``, else
    ``./commons-data``.
    """
    env = os.environ if environ is None else environ
    root = Path(data_dir or env.get("COMMONS_DATA") or DEFAULT_DATA).expanduser().resolve()
    values: dict[str, Any] = {}
    config_file = root / "config.toml"
    if config_file.is_file():
        try:
            values.update(tomllib.loads(config_file.read_text("utf-8")))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{config_file} illisible : {exc}") from exc
    known = {f.name: f.type for f in fields(Settings) if f.name not in ("data_dir", "extra")}
    for name in known:
        env_value = env.get(f"COMMONS_{name.upper()}")
        if env_value is not None:
            values[name] = env_value
    values.update(overrides or {})
    kwargs = {k: _coerce(k, v, known[k]) for k, v in values.items() if k in known}
    extra = {k: v for k, v in values.items() if k not in known and k != "data_dir"}
    return Settings(data_dir=root, extra=extra, **kwargs)


def ensure_secret_key(settings: Settings) -> Settings:
    """Return settings with a secret key, creating ``<data>/secret_key`` on first use."""
    if settings.secret_key:
        return settings
    key_file = settings.data_dir / "secret_key"
    if not key_file.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
    return replace(settings, secret_key=key_file.read_text().strip())
