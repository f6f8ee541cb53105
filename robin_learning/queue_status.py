"""Life cycle of a queued frame and the transitions the queue allows.

``queued -> exported -> annotated -> used_in_training``. A frame may be re-exported (a lost
batch), annotated straight from ``queued`` (the simulation ground-truth annotator needs no export)
and re-annotated (a corrected correction); nothing goes backwards past ``annotated``.
"""

from __future__ import annotations

from typing import Literal

Status = Literal['queued', 'exported', 'annotated', 'used_in_training']
STATUSES: tuple[Status, ...] = ('queued', 'exported', 'annotated', 'used_in_training')

ALLOWED: dict[str, frozenset[str]] = {
    'queued': frozenset({'exported', 'annotated'}),
    'exported': frozenset({'exported', 'annotated'}),
    'annotated': frozenset({'annotated', 'used_in_training'}),
    'used_in_training': frozenset({'used_in_training'}),
}

#: Reasons a frame is queued (stored sorted, comma-separated).
REASONS: tuple[str, ...] = (
    'low_instance_confidence', 'low_type_confidence', 'geometric_disagreement', 'pick_failed', 'qa_flagged',
    'random',
)


class TransitionError(ValueError):
    """A status change the life cycle does not allow."""


def check_transition(frame: str, old: str, new: str) -> None:
    """Raise TransitionError naming ``frame`` unless ``old -> new`` is allowed."""
    if new not in ALLOWED.get(old, frozenset()):
        raise TransitionError(f"frame {frame}: cannot go from '{old}' to '{new}' "
                              f"(allowed: {', '.join(sorted(ALLOWED.get(old, ()))) or 'none'})")
