"""Find the ONNX file a recording was made with, from the sha256 the segmentation node reported."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from robin_core.ros_env import share_dir


def model_roots() -> list[Path]:
    """Where models live: the package's ``models/`` (shipped model and registry versions)."""
    return [share_dir() / 'models']


@cache
def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def find_model_by_sha(sha256: str, roots: Iterable[Path] | None = None) -> Path | None:
    """The first ``*.onnx`` under ``roots`` whose content has this sha256 (None: not found)."""
    for root in roots if roots is not None else model_roots():
        for path in sorted(Path(root).rglob('*.onnx')):
            if path.is_file() and file_sha256(path.resolve()) == sha256:
                return path
    return None
