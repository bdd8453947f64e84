"""File locks shared by threads and processes, held for a ``with`` block or refused with a 503."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from filelock import BaseFileLock, Timeout

from commons.errors import Unavailable


@contextmanager
def held(lock: BaseFileLock, timeout: float, busy: str) -> Iterator[None]:
    """Hold ``lock`` for the block; raise :class:`Unavailable` with ``busy`` if it is not free within ``timeout`` s."""
    try:
        lock.acquire(timeout=timeout)
    except Timeout as exc:
        raise Unavailable(busy) from exc
    try:
        yield
    finally:
        lock.release()
