"""Motion planning for the pick cell (plain modules, no rclpy).

- :mod:`.interface` — the backend Protocol, goals, scene, trajectories, typed failures
- :mod:`.builtin_backend` — mink IK + MuJoCo collision + direct/OMPL paths + toppra timing
- :mod:`.moveit_backend` — the same interface over moveit_py (optional)
- :mod:`.backend_selection` — parameter-driven choice with fail-over to the built-in backend
- :mod:`.pick_sequence` — approach, descend, lift, transfer
- :mod:`.protocol`, :mod:`.execution_monitor` — what the executor node speaks and checks
"""

from robin_grasp.motion.interface import (
    Box,
    FailureReason,
    HeightMap,
    JointGoal,
    JointTrajectory,
    MotionBackend,
    PlanFailure,
    PoseGoal,
    Scene,
)
from robin_grasp.motion.pick_sequence import SEGMENTS, PickPlan, PickRequest, PickSequencePlanner, PickSettings

__all__ = [
    'SEGMENTS',
    'Box',
    'FailureReason',
    'HeightMap',
    'JointGoal',
    'JointTrajectory',
    'MotionBackend',
    'PickPlan',
    'PickRequest',
    'PickSequencePlanner',
    'PickSettings',
    'PlanFailure',
    'PoseGoal',
    'Scene',
]
