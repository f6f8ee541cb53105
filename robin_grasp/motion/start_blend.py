"""Start a planned segment from where the arm really is, the offset blended out along the segment.

A segment is planned to begin where the one before it was planned to end. The arm may stop short of
that: a guarded descent ends on contact up to ``descend_contact_tolerance`` before its end (the
package's top was higher than perceived), a loaded wrist sags under the payload. Re-planning for a
few hundredths of a radian costs a planning round; instead the segment is shifted to begin at the
measured joints, the shift fading to zero by its end (smoothstep), so it still ends exactly where
the next segment begins. Plain numpy; no rclpy.
"""

from __future__ import annotations

import numpy as np

from robin_grasp.motion.interface import FloatArray, JointTrajectory


def blend_from(trajectory: JointTrajectory, q_now: FloatArray) -> JointTrajectory:
    """``trajectory`` starting at ``q_now`` [rad] and ending where it ended.

    Positions become ``q(t) + d·(1 − s(t/T))`` with ``d = q_now − q(0)`` and the smoothstep
    ``s(u) = 3u² − 2u³``; velocities and accelerations get the matching terms, so the result is
    as smooth as the input and starts and ends at rest relative to it. A trajectory without
    duration is returned unchanged.
    """
    duration = trajectory.duration
    if duration <= 0.0:
        return trajectory
    offset = np.asarray(q_now, dtype=float) - trajectory.start
    u = np.clip(trajectory.times / duration, 0.0, 1.0)[:, None]
    fade = 1.0 - (3.0 * u**2 - 2.0 * u**3)  # 1 at the start, 0 at the end
    fade_rate = -(6.0 * u - 6.0 * u**2) / duration  # d(fade)/dt
    fade_accel = -(6.0 - 12.0 * u) / duration**2  # d²(fade)/dt²
    return JointTrajectory(trajectory.joint_names, trajectory.times.copy(),
                           trajectory.positions + offset * fade,
                           trajectory.velocities + offset * fade_rate,
                           trajectory.accelerations + offset * fade_accel)
