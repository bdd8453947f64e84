"""Three-way merge of texts with ``git merge-file`` (no repository needed)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from commons.errors import CommonsError


def merge_texts(base: str, ours: str, theirs: str) -> tuple[str, bool]:
    """Three-way merge of texts with ``git merge-file``: (merged text, True if no conflict)."""
    with tempfile.TemporaryDirectory(prefix="commons-merge-") as tmp:
        files = []
        for name, text in (("actuelle", ours), ("base", base), ("votre", theirs)):
            file = Path(tmp) / name
            file.write_text(text, encoding="utf-8")
            files.append(str(file))
        done = subprocess.run(["git", "merge-file", "-p", "-q", "--", *files], capture_output=True, check=False)
    if done.returncode < 0 or done.returncode > 127:
        raise CommonsError("git merge-file a échoué : " + done.stderr.decode("utf-8", "replace").strip())
    return done.stdout.decode("utf-8", "replace"), done.returncode == 0
