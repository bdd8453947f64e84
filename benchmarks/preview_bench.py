"""Time the editor's live preview (``POST /-/preview``) through the real app: wall and CPU time per request.

    .venv/bin/python benchmarks/preview_bench.py

Uses the demo's ``guides/rsa`` page (about 6 KB) and the same text repeated 40 times (about 250 KB).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from commons import create_app  # noqa: E402
from commons.config import load_settings  # noqa: E402
from commons.services import open_commons  # noqa: E402
from tests.conftest import csrf_token  # noqa: E402


def main() -> None:
    """Print the median wall and CPU time of a preview for a normal and a very long page."""
    data = Path(tempfile.mkdtemp()) / "data"
    services = open_commons(load_settings(data, {"password_time_cost": 1, "password_memory_kib": 8192}, environ={}))
    services.init(demo=True)
    services.close()
    app = create_app({"data_dir": data, "rate_limits": False})
    client = app.test_client()
    token = csrf_token(client)
    text = app.extensions["commons"].pages.get("guides/rsa").markdown
    for label, markdown, runs in (("guides/rsa", text, 20), ("guides/rsa x40", text * 40, 5)):
        walls, cpus = [], []
        for _ in range(runs):
            wall, cpu = time.perf_counter(), time.process_time()
            response = client.post("/-/preview", data={"markdown": markdown, "path": "guides/rsa"},
                                   headers={"X-CSRFToken": token})
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
            assert response.status_code == 200, response.status_code
        size = len(markdown.encode()) // 1024
        print(f"{label} ({size} KB): median wall {statistics.median(walls) * 1000:.1f} ms, "
              f"median CPU {statistics.median(cpus) * 1000:.1f} ms")
    app.extensions["commons"].close()


if __name__ == "__main__":
    main()
