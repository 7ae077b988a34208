"""Write the Grafana dashboards (components/observability/dashboards/*.json) from their code.

    .venv/bin/python scripts/gen_dashboards.py

tests/test_observability.py fails when the committed files differ from what this writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.observability.dashboards import DASHBOARD_DIR, generated


def main() -> None:
    DASHBOARD_DIR.mkdir(parents=True, exist_ok=True)
    files = generated()
    for stale in DASHBOARD_DIR.glob("*.json"):
        if stale.name not in files:
            stale.unlink()
    for name, text in files.items():
        (DASHBOARD_DIR / name).write_text(text)
    print(f"wrote {len(files)} dashboards to {DASHBOARD_DIR}")


if __name__ == "__main__":
    main()
