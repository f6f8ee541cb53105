"""Run directories: ``runs/<UTC stamp>/`` with ``runs/latest`` pointing at the newest."""

from __future__ import annotations

import time
from pathlib import Path


def new_run_dir(root: Path) -> Path:
    """Create ``root/<stamp>`` (unique) and point ``root/latest`` at it."""
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
    run = root / stamp
    n = 1
    while run.exists():
        run = root / f'{stamp}-{n}'
        n += 1
    run.mkdir()
    latest = root / 'latest'
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(run.name)
    return run
