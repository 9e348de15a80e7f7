"""The public batched env: torch tensors in and out, automatic reset of finished envs."""

from __future__ import annotations

import math

import numpy as np
import torch

from dexhands.batch import BatchSimulator
from dexhands.descriptions import describe_state
from dexhands.rotations import quat_apply, quat_conjugate, quat_from_angle_axis, quat_mul, xyzw_to_wxyz
from dexhands.scene import build_scene
from dexhands.state import OBJECT_SUFFIXES, StateReader
from dexhands.tasks.base import TaskConfig

POLICY_DT = 1.0 / 60.0  # Bi-DexHands sim dt; PhysX ran 2 substeps of 1/120 s
SUBSTEPS = 2
BASE_FORCE_SCALE = 1e5  # force = a · dt · transition_scale · 1e5 N
BASE_TORQUE_SCALE = 1e3  # torque = a · dt · orientation_scale · 1e3 N·m


class DexHandsEnv:
    """`num_envs` copies of one Bi-DexHands task, each its own MuJoCo world (world-frame coordinates as in the original).

    `step(actions)` returns `(obs, reward, terminated, truncated, info)`; envs that finish are reset in the same
    call, `info["final_obs"]` holds their last observation (rows of the other envs hold the current one),
    `info["final_state"]` the named state before the reset, and `info["success"]` the episode's sticky success
    flag before the reset (PushBlock: its latched 0/0.5/1 grade; ReOrientation: its running count of goals reached).
    """

    def __init__(self, task: TaskConfig, num_envs: int, device: str | torch.device = "cpu", seed: int = 0,
                 num_threads: int | None = None):
        self.task = task
        self.num_envs = num_envs
        self.device = torch.device(device)
        self.obs_dim = task.obs_dim
        self.act_dim = task.act_dim
        self.episode_length = task.episode_length
        self.scene = build_scene(task.layout)
        self.sim = BatchSimulator(self.scene.model, num_envs, SUBSTEPS, num_threads)
        self.reader = StateReader(self.scene, task, self.device)
        self.generator = torch.Generator().manual_seed(seed)
        self.progress_buf = torch.zeros(num_envs, dtype=torch.long, device=self.device)
        self.successes = torch.zeros(num_envs, device=self.device)
        # Further latched metrics of a task (e.g. Switch's original, unreachable criterion), same life as `successes`.
        self.extra_successes = {name: torch.zeros(num_envs, device=self.device) for name in task.extra_success_names}
        self.actions = torch.zeros(num_envs, self.act_dim, device=self.device)
        n_obj = task.num_objects
        goal_starts = torch.tensor(task.layout.goal_starts, dtype=torch.float32, device=self.device).reshape(-1, 3)
        self.goal_pos = goal_starts.expand(num_envs, n_obj, 3).clone()
        self.goal_rot = torch.zeros(num_envs, n_obj, 4, device=self.device)
        self.goal_rot[..., 3] = 1.0
        self._hands = list(self.scene.hands.values())
        self._default_dof = [np.clip(0.0, h.joint_low, h.joint_high) for h in self._hands]
        self._state: dict[str, torch.Tensor] = {}

    # ----------------------------------------------------------------------------------------------- public API
    def reset(self) -> torch.Tensor:
        """Reset every env; return the observations (num_envs, obs_dim)."""
        self.actions.zero_()
        self._reset_rows(np.arange(self.num_envs))
        self._state = self._read_state()
        return self.reader.observe(self._state, self.actions)

    def step(self, actions: torch.Tensor):
        # The env's tensor work is small; torch's intra-op threads would only spin against the physics threads
        # (measured: 2048 envs ran at half speed), so it runs on one thread and the setting is restored after.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self._step(actions)
        finally:
            torch.set_num_threads(threads)

    def _step(self, actions: torch.Tensor):
        if not self._state:
            raise RuntimeError("call env.reset() before the first env.step()")
        actions = torch.as_tensor(actions, dtype=torch.float32, device=self.device)
        if actions.shape != (self.num_envs, self.act_dim):
            raise ValueError(f"{self.task.name} expects actions of shape ({self.num_envs}, {self.act_dim}), "
                             f"got {tuple(actions.shape)}")
        self.actions = actions.clamp(-1.0, 1.0)
        self._apply_actions(self.actions)
        self.sim.step()
        self.progress_buf += 1
        self._state = self._read_state()
        reward, success_now, terminate = self.task.compute_reward(self._state)
        if self.task.success_mode == "count":
            self.successes = self.successes + success_now.float()
        else:  # latched: the episode's best value (a 0/1 flag, or a graded 0/0.5/1)
            self.successes = torch.maximum(self.successes, success_now.float())
        if self.task.new_goal_on_success and success_now.any():
            self._new_goal_rotation(success_now.bool().nonzero().flatten())
        for name, now in self.task.extra_success(self._state).items():
            self.extra_successes[name] = torch.where(now, torch.ones_like(self.successes), self.extra_successes[name])
        time_out = self.progress_buf >= self.episode_length
        done = terminate | time_out
        obs = self.reader.observe(self._state, self.actions)
        info = {
            "success": self.successes.clone(),
            "episode_end": done,
            "time_out": time_out & ~terminate,
            "final_obs": obs,
            # The named state the step reached, before any reset: what reward/progress code scores for s_{t+1}.
            "final_state": {**self._state, "progress_buf": self.progress_buf.clone(), "successes": self.successes.clone()},
            "episode_length": self.progress_buf.clone(),
            **{name: flag.clone() for name, flag in self.extra_successes.items()},
        }
        if done.any():
            rows = done.nonzero().flatten()
            self.actions[rows] = 0.0
            self._reset_rows(rows.cpu().numpy())
            self._state = self._read_state()
            obs = self.reader.observe(self._state, self.actions)
        self._state["successes"] = self.successes
        return obs, reward, terminate, time_out & ~terminate, info

    @property
    def state(self) -> dict[str, torch.Tensor]:
        """Named state tensors with the Bi-DexHands names (see `state_description()`)."""
        return self._state

    def state_description(self) -> str:
        return describe_state(self._state or self._read_state(), self.task)

    def close(self) -> None:
        self.sim.close()

    # ------------------------------------------------------------------------------------------------ internals
    def _apply_actions(self, actions: torch.Tensor) -> None:
        per_hand = self.act_dim // 2
        a = actions.cpu().numpy().astype(np.float64)
        state = self._state
        for i, (name, hand) in enumerate(self.scene.hands.items()):
            hand_a = a[:, i * per_hand:(i + 1) * per_hand]
            fingers = hand_a[:, -20:]
            # Absolute targets over each actuated joint's full range (Bi-DexHands, useRelativeControl False).
            self.sim.ctrl[:, hand.ctrl] = hand.ctrl_low + 0.5 * (fingers + 1.0) * (hand.ctrl_high - hand.ctrl_low)
            if self.task.free_base:
                force = hand_a[:, 0:3] * POLICY_DT * self.task.transition_scale * BASE_FORCE_SCALE
                torque = torch.as_tensor(hand_a[:, 3:6] * POLICY_DT * self.task.orientation_scale * BASE_TORQUE_SCALE,
                                         dtype=torch.float32)
                # Ball-joint generalised forces are torques in the mount's current frame.
                mount_rot = state[f"{name}_hand_base_rot"].cpu()
                local_torque = quat_apply(quat_conjugate(mount_rot), torque).numpy()
                self.sim.qfrc[:, hand.base_dof[:3]] = force
                self.sim.qfrc[:, hand.base_dof[3:]] = local_torque

    def _read_state(self) -> dict[str, torch.Tensor]:
        state = self.reader.read(self.sim.qpos, self.sim.qvel, self.sim.sensordata)
        for k, suffix in enumerate(OBJECT_SUFFIXES[: self.task.num_objects]):
            state[f"goal{suffix}_pos"] = self.goal_pos[:, k]
            state[f"goal{suffix}_rot"] = self.goal_rot[:, k]
            state[f"goal{suffix}_pose"] = torch.cat([self.goal_pos[:, k], self.goal_rot[:, k]], -1)
        state["progress_buf"] = self.progress_buf
        state["successes"] = self.successes
        state["actions"] = self.actions
        for name, (low, high) in zip(("shadow_hand", "shadow_hand_another"),
                                     ((h.joint_low, h.joint_high) for h in self._hands)):
            state[f"{name}_dof_lower_limits"] = torch.as_tensor(low, dtype=torch.float32, device=self.device)
            state[f"{name}_dof_upper_limits"] = torch.as_tensor(high, dtype=torch.float32, device=self.device)
        return state

    def _new_goal_rotation(self, rows: torch.Tensor) -> None:
        """Reached goals get a new random rotation (shared by all objects, as at reset), visible in this step's obs."""
        self.goal_rot[rows] = self._random_rotation(len(rows)).to(self.device).unsqueeze(1)
        for k, suffix in enumerate(OBJECT_SUFFIXES[: self.task.num_objects]):
            self._state[f"goal{suffix}_rot"] = self.goal_rot[:, k]
            self._state[f"goal{suffix}_pose"] = torch.cat([self.goal_pos[:, k], self.goal_rot[:, k]], -1)

    def _uniform(self, *shape: int, low: float = -1.0, high: float = 1.0) -> torch.Tensor:
        return low + (high - low) * torch.rand(*shape, generator=self.generator)

    def _random_rotation(self, count: int) -> torch.Tensor:
        """Bi-DexHands' randomize_rotation: a rotation about x by π·u1, then about y by π·u2 ((x, y, z, w))."""
        u = self._uniform(count, 2)
        qx = quat_from_angle_axis(u[:, 0] * math.pi, torch.tensor([1.0, 0.0, 0.0]).expand(count, 3))
        qy = quat_from_angle_axis(u[:, 1] * math.pi, torch.tensor([0.0, 1.0, 0.0]).expand(count, 3))
        return quat_mul(qx, qy)

    def _reset_rows(self, rows: np.ndarray) -> None:
        """New episode for `rows`: hand joints near default, bases at start, eggs at start with noise, new goals."""
        count = len(rows)
        if count == 0:
            return
        qpos, qvel = self.sim.qpos, self.sim.qvel
        qpos[rows] = self.scene.model.qpos0
        qvel[rows] = 0.0
        for hand, default in zip(self._hands, self._default_dof):
            u = self._uniform(count, 24, low=0.0, high=1.0).numpy()
            span = hand.joint_low - default + u * (hand.joint_high - hand.joint_low)
            qpos[np.ix_(rows, hand.qpos)] = default + self.task.reset_dof_pos_noise * span
        identity = torch.tensor([0.0, 0.0, 0.0, 1.0]).expand(count, 4)
        goal_rot = self._random_rotation(count) if self.task.random_goal_rotation else identity
        for k, (start, qadr) in enumerate(zip(self.task.layout.object_starts, self.scene.object_qpos)):
            pos = torch.tensor(start) + self.task.reset_position_noise * self._uniform(count, 3)
            rot = xyzw_to_wxyz(self._random_rotation(count) if self.task.random_object_rotation else identity)
            qpos[np.ix_(rows, qadr)] = torch.cat([pos, rot], -1).numpy()
            self.goal_rot[torch.as_tensor(rows), k] = goal_rot.to(self.device)
        if len(self.scene.joint_qpos):
            qpos[np.ix_(rows, self.scene.joint_qpos)] = np.asarray(self.task.object_dof_start)
            qvel[np.ix_(rows, self.scene.joint_dof)] = np.asarray(self.task.object_dof_start_vel or 0.0)
        self.sim.state[rows, 0] = 0.0
        self.sim.qfrc[rows] = 0.0
        self.progress_buf[torch.as_tensor(rows)] = 0
        self.successes[torch.as_tensor(rows)] = 0.0
        for flag in self.extra_successes.values():
            flag[torch.as_tensor(rows)] = 0.0
        self.sim.forward(rows)


