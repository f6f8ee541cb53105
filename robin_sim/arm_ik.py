"""Small numeric inverse kinematics for the tcp (damped least squares on a MuJoCo arm model).

For scripted scenes, tests and demos; real planning lives in robin_grasp. Works on the URDF alone.
"""

from __future__ import annotations

from pathlib import Path

import mujoco
import numpy as np

from robin_core.cell_description import CellDescription, default_cell

#: Parking pose: tool down behind the base, mostly outside the camera's view [rad].
HOME = np.array([0.0, -2.14, 2.04, -1.47, -np.pi / 2, 0.0])
#: A tool-down pose above the pick area, elbow up: the default IK seed for picks [rad].
READY = np.array([np.pi, -1.75, 1.75, -1.57, -np.pi / 2, 0.0])


class ArmKinematics:
    """Forward/inverse kinematics of base_link → tcp."""

    def __init__(self, cell: CellDescription | None = None, urdf_path: Path | None = None) -> None:
        self.cell = cell or default_cell()
        spec = mujoco.MjSpec.from_file(str(urdf_path or self.cell.urdf_path))
        spec.compiler.fusestatic = False
        self.model = spec.compile()
        self.data = mujoco.MjData(self.model)
        self._qadr = np.array([self.model.joint(n).qposadr[0] for n in self.cell.joint_names])
        self._dadr = np.array([self.model.joint(n).dofadr[0] for n in self.cell.joint_names])
        self._tcp = self.model.body(self.cell.gripper.tcp_frame).id

    def forward(self, q: np.ndarray) -> np.ndarray:
        """4×4 pose of the tcp in base_link for joint positions ``q`` [rad]."""
        self.data.qpos[self._qadr] = q
        mujoco.mj_kinematics(self.model, self.data)
        mujoco.mj_comPos(self.model, self.data)  # the Jacobian needs cdof
        tf = np.eye(4)
        tf[:3, :3] = self.data.xmat[self._tcp].reshape(3, 3)
        tf[:3, 3] = self.data.xpos[self._tcp]
        return tf

    def inverse(self, target: np.ndarray, seed: np.ndarray | None = None, iters: int = 200,
                tol: float = 1e-5) -> np.ndarray:
        """Joint positions [rad] putting the tcp at ``target`` (4×4).

        Raises:
            ValueError: no solution within the tolerance (unreachable pose).
        """
        q = np.array(READY if seed is None else seed, dtype=float)
        jacp, jacr = np.zeros((3, self.model.nv)), np.zeros((3, self.model.nv))
        lo, hi = self.cell.lower, self.cell.upper
        for _ in range(iters):
            cur = self.forward(q)
            err_p = target[:3, 3] - cur[:3, 3]
            rot_err = target[:3, :3] @ cur[:3, :3].T
            err_r = 0.5 * np.array([rot_err[2, 1] - rot_err[1, 2], rot_err[0, 2] - rot_err[2, 0],
                                    rot_err[1, 0] - rot_err[0, 1]])
            err = np.concatenate([err_p, err_r])
            if np.linalg.norm(err) < tol:
                return q
            mujoco.mj_jacBody(self.model, self.data, jacp, jacr, self._tcp)
            jac = np.vstack([jacp[:, self._dadr], jacr[:, self._dadr]])
            dq = jac.T @ np.linalg.solve(jac @ jac.T + 1e-4 * np.eye(6), err)
            q = np.clip(q + np.clip(dq, -0.3, 0.3), lo, hi)
        raise ValueError(f'IK did not converge for target position {target[:3, 3]}')


def tool_down(position: np.ndarray, yaw: float = 0.0) -> np.ndarray:
    """4×4 tcp pose at ``position`` [m] with the tool z pointing down and the cup rows rotated by ``yaw``."""
    c, s = np.cos(yaw), np.sin(yaw)
    tf = np.eye(4)
    # x along (c, s, 0), z down, y = z × x
    tf[:3, 0] = [c, s, 0.0]
    tf[:3, 2] = [0.0, 0.0, -1.0]
    tf[:3, 1] = np.cross(tf[:3, 2], tf[:3, 0])
    tf[:3, 3] = position
    return tf
