"""Overhead RGB-D camera: MuJoCo renders → rgb8, noisy depth, ground-truth instance labels.

A :class:`CameraRenderer` owns an OpenGL context (MUJOCO_GL=egl headless), so create and use it
in one thread. It renders from a *state snapshot* (qpos + mocap) into its own MjData, so the
physics thread only has to copy a few arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from robin_sim.depth_noise import DepthNoiseModel, apply_depth_noise
from robin_sim.world_builder import CAMERA_NAME


@dataclass
class CameraFrame:
    """One rendered frame.

    Attributes:
        time: [s] sim time of the state.
        rgb: (H, W, 3) uint8.
        depth_m: (H, W) float32 [m], NaN where invalid (noisy unless rendered clean).
        labels: (H, W) uint16 package id per pixel (0 = not a package) or None.
    """

    time: float
    rgb: np.ndarray
    depth_m: np.ndarray
    labels: np.ndarray | None = None


@dataclass
class StateSnapshot:
    """The part of the physics state that the renderer needs."""

    time: float
    qpos: np.ndarray
    mocap_pos: np.ndarray
    mocap_quat: np.ndarray
    generation: int  #: model generation; a renderer for another generation must be rebuilt


class CameraRenderer:
    """Renders the overhead camera of a compiled model: one GL pass gives RGB and depth together.

    (``mujoco.Renderer`` needs a separate pass for depth; on a software GL that halves the rate.)
    """

    def __init__(self, model: mujoco.MjModel, width: int, height: int, geom_to_package: np.ndarray, *,
                 noise: DepthNoiseModel | None = None, generation: int = 0) -> None:
        self.model = model
        self.generation = generation
        self.noise = noise or DepthNoiseModel()
        self._data = mujoco.MjData(model)
        self._w, self._h = width, height
        self._gl = mujoco.GLContext(width, height)
        self._gl.make_current()
        self._con = mujoco.MjrContext(model, mujoco.mjtFontScale.mjFONTSCALE_100.value)
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN.value, self._con)
        self._con.readDepthMap = mujoco.mjtDepthMap.mjDEPTH_ZEROFAR  # reverse z: precise far away
        self._scene = mujoco.MjvScene(model, maxgeom=max(1000, 4 * model.ngeom))
        self._opt = mujoco.MjvOption()
        self._cam = mujoco.MjvCamera()
        self._cam.type = mujoco.mjtCamera.mjCAMERA_FIXED
        self._cam.fixedcamid = model.camera(CAMERA_NAME).id
        self._rect = mujoco.MjrRect(0, 0, width, height)
        self._rgb = np.empty((height, width, 3), np.uint8)
        self._zbuf = np.empty((height, width), np.float32)
        self._lut = np.concatenate([[0], geom_to_package]).astype(np.uint16)  # index geom id + 1 (-1 → 0)
        near = model.vis.map.znear * model.stat.extent
        far = model.vis.map.zfar * model.stat.extent
        # reverse-z window depth b → metric z = d / (b + c)  (OpenGL frustum, remapped to [1, 0])
        self._c = 0.5 * (far + near) / (far - near) - 0.5
        self._d = far * near / (far - near)

    def close(self) -> None:
        self._gl.make_current()
        self._con.free()
        self._gl.free()

    def render(self, state: StateSnapshot, rng: np.random.Generator | None, labels: bool = False) -> CameraFrame:
        """Render RGB + depth (+ labels) of ``state``; ``rng`` None → perfect depth."""
        d = self._data
        d.qpos[:] = state.qpos
        d.mocap_pos[:] = state.mocap_pos
        d.mocap_quat[:] = state.mocap_quat
        mujoco.mj_kinematics(self.model, d)
        mujoco.mj_camlight(self.model, d)
        self._gl.make_current()
        mujoco.mjv_updateScene(self.model, d, self._opt, None, self._cam, mujoco.mjtCatBit.mjCAT_ALL.value,
                               self._scene)
        mujoco.mjr_render(self._rect, self._scene, self._con)
        mujoco.mjr_readPixels(self._rgb, self._zbuf, self._rect, self._con)
        rgb = np.flipud(self._rgb).copy()  # OpenGL rows run bottom-up
        depth = np.float32(self._d) / (np.flipud(self._zbuf) + np.float32(self._c))  # float32: ≪ 1 µm error
        lab = self._labels() if labels else None
        if rng is not None:
            depth = apply_depth_noise(depth, rgb, rng, self.noise)
        return CameraFrame(state.time, rgb, depth, lab)

    def _labels(self) -> np.ndarray:
        """Second pass with segment colours → package id per pixel."""
        flags = self._scene.flags
        flags[mujoco.mjtRndFlag.mjRND_SEGMENT] = flags[mujoco.mjtRndFlag.mjRND_IDCOLOR] = True
        try:
            mujoco.mjr_render(self._rect, self._scene, self._con)
            mujoco.mjr_readPixels(self._rgb, None, self._rect, self._con)
        finally:
            flags[mujoco.mjtRndFlag.mjRND_SEGMENT] = flags[mujoco.mjtRndFlag.mjRND_IDCOLOR] = False
        img = np.flipud(self._rgb).astype(np.int64)
        segid = img[..., 0] + (img[..., 1] << 8) + (img[..., 2] << 16)  # 0 = background
        n = self._scene.ngeom
        to_geom = np.full(n + 1, -1, np.int64)
        for g in self._scene.geoms[:n]:
            if g.segid >= 0 and g.objtype == int(mujoco.mjtObj.mjOBJ_GEOM):
                to_geom[g.segid + 1] = g.objid
        return self._lut[to_geom[np.clip(segid, 0, n)] + 1]
