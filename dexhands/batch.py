"""Batched CPU stepping: one MuJoCo world per env, stepped on every core by `mujoco.rollout`.

Each env is a row of a full-physics state array. One env step is one `rollout` call of
`substeps` physics steps over all rows, with a persistent thread pool. The controls are the actuator
targets (`ctrl`) and the generalised forces on the free bases (`qfrc_applied`), held over the substeps.
Sensor values come back from the last physics step; MuJoCo evaluates sensors before integrating, so
sensor-derived kinematics (fingertip and palm poses) lag the returned state by one physics step (1/120 s),
while joint positions and velocities come from the state itself and are exact. `forward()` recomputes
sensors exactly for a few rows (used after resets).

The arrays are numpy (tools and tests index them directly); `buffers()` hands the env zero-copy torch views
of them, the same interface the Warp backend (`dexhands.warp_batch`) offers on the GPU.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import mujoco
import numpy as np
import torch
from mujoco import rollout

from dexhands.selection import RowSelection

STATE_SPEC = mujoco.mjtState.mjSTATE_FULLPHYSICS
CONTROL_SPEC = mujoco.mjtState.mjSTATE_CTRL | mujoco.mjtState.mjSTATE_QFRC_APPLIED


class SimBuffers(NamedTuple):
    """Per-env simulator arrays as torch tensors of shape (num_envs, ...) that share the simulator's memory."""

    qpos: torch.Tensor
    qvel: torch.Tensor
    sensordata: torch.Tensor
    ctrl: torch.Tensor  # actuator targets, held over the substeps
    qfrc: torch.Tensor  # generalised forces applied on the free bases (qfrc_applied)


class BatchSimulator:
    """`num_envs` independent copies of `model`, advanced together."""

    def __init__(self, model: mujoco.MjModel, num_envs: int, substeps: int, num_threads: int | None = None):
        self.model = model
        self.num_envs = num_envs
        self.substeps = substeps
        self.num_threads = num_threads or os.cpu_count() or 1
        # nthread=0 runs on the calling thread; a pool only pays off with more than one core.
        self._pool = rollout.Rollout(nthread=self.num_threads if self.num_threads > 1 else 0)
        self._datas = [mujoco.MjData(model) for _ in range(max(self.num_threads, 1))]
        self._models = [model] * num_envs
        self.nstate = mujoco.mj_stateSize(model, STATE_SPEC)
        self.qpos_slice = slice(1, 1 + model.nq)  # state layout: time, qpos, qvel, act, ...
        self.qvel_slice = slice(1 + model.nq, 1 + model.nq + model.nv)
        self.state = np.zeros((num_envs, self.nstate))
        default = mujoco.MjData(model)
        mujoco.mj_getState(model, default, self.state[0], STATE_SPEC)
        self.state[:] = self.state[0]
        self.ctrl = np.zeros((num_envs, model.nu))
        self.qfrc = np.zeros((num_envs, model.nv))
        self._control = np.zeros((num_envs, substeps, model.nu + model.nv))
        self._state_out = np.zeros((num_envs, substeps, self.nstate))
        self._sensor_out = np.zeros((num_envs, substeps, model.nsensordata))
        self.sensordata = np.zeros((num_envs, model.nsensordata))
        # Resets recompute sensors row by row with mj_forward, which releases the GIL: a small thread pool
        # spreads them over the cores (with random actions up to a fifth of the envs reset on a step).
        self._probes = [mujoco.MjData(model) for _ in range(self.num_threads)]
        self._forward_pool = ThreadPoolExecutor(self.num_threads) if self.num_threads > 1 else None

    @property
    def qpos(self) -> np.ndarray:
        return self.state[:, self.qpos_slice]

    @property
    def qvel(self) -> np.ndarray:
        return self.state[:, self.qvel_slice]

    def buffers(self) -> SimBuffers:
        """Zero-copy float64 CPU views (the numpy arrays are only ever written in place, so the views stay valid)."""
        return SimBuffers(*(torch.from_numpy(a) for a in (self.qpos, self.qvel, self.sensordata, self.ctrl, self.qfrc)))

    def select(self, mask: torch.Tensor) -> RowSelection | None:
        """The envs where `mask` is set, as rows (None when there are none)."""
        rows = mask.nonzero().flatten()
        return RowSelection(rows) if len(rows) else None

    def refresh(self, selection: RowSelection) -> None:
        """Recompute the sensors of envs whose state was just written (after a reset)."""
        self.forward(selection.host_rows())

    def step(self) -> None:
        """Advance every env by `substeps` physics steps with the current `ctrl` and `qfrc`."""
        self._control[:, :, : self.model.nu] = self.ctrl[:, None, :]
        self._control[:, :, self.model.nu :] = self.qfrc[:, None, :]
        self.state[:, 0] = 0.0  # keep time bounded; nothing in the scene depends on it
        self._pool.rollout(
            self._models, self._datas, self.state, self._control, control_spec=int(CONTROL_SPEC), nstep=self.substeps,
            state=self._state_out, sensordata=self._sensor_out, skip_checks=True,
        )
        self.state[:] = self._state_out[:, -1]
        self.sensordata[:] = self._sensor_out[:, -1]

    def forward(self, rows: np.ndarray) -> None:
        """Recompute `sensordata` of `rows` from their current state (exact, no time advance)."""
        if self._forward_pool is None or len(rows) < 2 * self.num_threads:
            self._forward_rows(rows, self._probes[0])
            return
        chunks = np.array_split(rows, self.num_threads)
        list(self._forward_pool.map(self._forward_rows, chunks, self._probes))

    def _forward_rows(self, rows: np.ndarray, data: mujoco.MjData) -> None:
        for row in rows:
            mujoco.mj_setState(self.model, data, self.state[row], STATE_SPEC)
            data.ctrl[:] = self.ctrl[row]
            mujoco.mj_forward(self.model, data)
            self.sensordata[row] = data.sensordata

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._forward_pool is not None:
            self._forward_pool.shutdown()
            self._forward_pool = None
