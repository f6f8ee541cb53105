"""Pick the motion backend from a parameter, failing over to the built-in one with a clear reason."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from robin_grasp.motion.interface import MotionBackend

BACKENDS = ('builtin', 'moveit', 'auto')


@dataclass(frozen=True)
class Selection:
    """The backend in use and, when it is not the one asked for, why."""

    backend: MotionBackend
    requested: str
    fallback_reason: str = ''


def select_backend(
    requested: str,
    *,
    build_builtin: Callable[[], MotionBackend],
    build_moveit: Callable[[], MotionBackend],
    moveit_available: Callable[[], bool],
    log: Callable[[str], None] = print,
) -> Selection:
    """Build the requested backend.

    ``builtin``: always the built-in backend. ``moveit``: MoveIt when ``moveit.planning`` imports
    and the backend constructs, else the built-in backend with one log line saying why. ``auto``:
    MoveIt when available, silently the built-in backend otherwise.

    Raises:
        ValueError: ``requested`` is not one of :data:`BACKENDS`.
    """
    if requested not in BACKENDS:
        raise ValueError(f"motion backend '{requested}' is not one of {', '.join(BACKENDS)}")
    if requested == 'builtin':
        return Selection(build_builtin(), requested)
    if not moveit_available():
        reason = 'moveit.planning is not importable (MoveIt 2 / moveit_py not installed)'
        if requested == 'moveit':
            log(f'motion backend: moveit requested but {reason}; using the built-in backend')
        return Selection(build_builtin(), requested, reason)
    try:
        return Selection(build_moveit(), requested)
    except Exception as exc:  # noqa: BLE001 - any MoveIt start-up error means: fall back
        reason = f'MoveIt backend failed to start: {exc}'
        log(f'motion backend: {reason}; using the built-in backend')
        return Selection(build_builtin(), requested, reason)
