"""Which topics to record: regular expressions matched against absolute topic names."""

from __future__ import annotations

import re
from collections.abc import Sequence


class TopicFilter:
    """``include`` and ``exclude`` are full-match regexes on names like ``/camera/color/image_raw``.

    A topic is selected when it matches some include pattern and no exclude pattern. An empty
    include list selects nothing (explicit is better than recording everything by accident).
    """

    def __init__(self, include: Sequence[str], exclude: Sequence[str] = ()) -> None:
        self.include = [self._compile(p) for p in include]
        self.exclude = [self._compile(p) for p in exclude]

    @staticmethod
    def _compile(pattern: str) -> re.Pattern[str]:
        try:
            return re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"bad topic pattern '{pattern}': {exc}") from exc

    def __call__(self, topic: str) -> bool:
        name = topic if topic.startswith('/') else f'/{topic}'
        return any(p.fullmatch(name) for p in self.include) and not any(p.fullmatch(name) for p in self.exclude)
