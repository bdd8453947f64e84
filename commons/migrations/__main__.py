"""Draft the next migration from the models: ``python -m commons.migrations "add pages.color"``.

A temporary SQLite database is brought to ``head``, then Alembic's autogenerate compares it with the
models and writes ``versions/NNNN_<slug>.py``. Read the draft before committing it: it does not know
which server default existing rows need, nor the data to move.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from commons.migrations import HERE, alembic_config, upgrade


def draft(message: str) -> Path:
    """Write the next revision's draft and return its path."""
    number = 1 + max(int(path.name[:4]) for path in (HERE / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'head.db'}")
        try:
            upgrade(engine)
            with engine.begin() as conn:
                script = command.revision(alembic_config(conn), message, autogenerate=True, rev_id=f"{number:04d}")
        finally:
            engine.dispose()
    assert script is not None and not isinstance(script, list)
    return Path(script.path)


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].strip():
        sys.exit('usage: python -m commons.migrations "what the migration does"')
    print(draft(sys.argv[1]))
