"""The public batched env: torch tensors in and out, automatic reset of finished envs."""

from __future__ import annotations

import math

import numpy as np
import torch

from dexhands.batch import BatchSimulator
from dexhands.descriptions import describe_state
from dexhands.rotations import quat_apply, quat_conjugate, quat_from_angle_axis, quat_mul, xyzw_to_wxyz
from dexhands.scene import HandIndex, Scene, build_scene
from dexhands.selection import MaskSelection, RowSelection
from dexhands.state import OBJECT_SUFFIXES, StateReader
from dexhands.tasks.base import TaskConfig
from dexhands.tasks.common import constant

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

    The named state (`state`, `info["final_state"]`, `state_description()`) is what LLM-written reward and progress
    code reads, so it holds only what the policy's observation and the task's physical state hold: no success flag
    or count, no episode step counter, nothing of the success test. Those stay attributes (`successes`,
    `progress_buf`, `extra_successes`) and `info` entries (`success`, `episode_length`, extra success names).

    Only the simulator depends on `backend`: "mujoco" steps C MuJoCo on CPU threads (`dexhands.batch`), "warp"
    steps MuJoCo Warp on the env's device (`dexhands.warp_batch`). State, observations, rewards and resets are
    this class for both; it reaches the simulator through torch views of its buffers (`sim.buffers()`) and
    touches envs through `sim.select(mask)` (rows on the CPU, a mask on the GPU: see `dexhands.selection`).
    """

    def __init__(self, task: TaskConfig, num_envs: int, device: str | torch.device = "cpu", seed: int = 0,
                 num_threads: int | None = None, backend: str = "mujoco"):
        self.task = task
        self.num_envs = num_envs
        self.device = torch.device(device)
        self.backend = backend
        self.obs_dim = task.obs_dim
        self.act_dim = task.act_dim
        self.episode_length = task.episode_length
        self.scene = build_scene(task.layout)
        if backend == "warp":
            from dexhands.warp_batch import WarpSimulator

            self.sim = WarpSimulator(self.scene.model, num_envs, SUBSTEPS, self.device)
        else:
            self.sim = BatchSimulator(self.scene.model, num_envs, SUBSTEPS, num_threads)
        # Everything below talks to the simulator through these torch views (CPU float64 / Warp float32).
        self.buffers = self.sim.buffers()
        sim_device = self.buffers.qpos.device
        self.reader = StateReader(self.scene, task, self.device)
        # Reset draws happen where the simulator lives: on the CPU for "mujoco" (the stream it always had),
        # on the GPU for "warp" (no host round-trip).
        self.generator = torch.Generator(device=sim_device).manual_seed(seed)
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
        self._index = _SimIndex(self.scene, task, sim_device, self.buffers.ctrl.dtype)
        self._dof_limits = {
            f"{name}_dof_{side}_limits": torch.as_tensor(limits, dtype=torch.float32, device=self.device)
            for name, hand in zip(("shadow_hand", "shadow_hand_another"), self.scene.hands.values())
            for side, limits in (("lower", hand.joint_low), ("upper", hand.joint_high))
        }
        self._state: dict[str, torch.Tensor] = {}

    # ----------------------------------------------------------------------------------------------- public API
    def reset(self) -> torch.Tensor:
        """Reset every env; return the observations (num_envs, obs_dim)."""
        self.actions.zero_()
        self._reset_envs(self.sim.select(torch.ones(self.num_envs, dtype=torch.bool, device=self.device)))
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
        if self.task.new_goal_on_success:
            reached = self.sim.select(success_now.bool())
            if reached is not None:
                self._new_goal_rotation(reached)
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
            # `actions` is copied because resetting finished envs zeroes their rows of `self.actions` in place.
            "final_state": {**self._state, "actions": self.actions.clone()},
            "episode_length": self.progress_buf.clone(),
            **{name: flag.clone() for name, flag in self.extra_successes.items()},
        }
        finished = self.sim.select(done)
        if finished is not None:
            finished.put(self.actions, 0.0)
            self._reset_envs(finished)
            self._state = self._read_state()
            obs = self.reader.observe(self._state, self.actions)
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
        index, buffers = self._index, self.buffers
        a = actions.to(index.device, torch.float64)
        state = self._state
        for i, (name, hand) in enumerate(zip(self.scene.hands, index.hands)):
            hand_a = a[:, i * per_hand:(i + 1) * per_hand]
            fingers = hand_a[:, -20:]
            # Absolute targets over each actuated joint's full range (Bi-DexHands, useRelativeControl False).
            ctrl = hand.ctrl_low + 0.5 * (fingers + 1.0) * (hand.ctrl_high - hand.ctrl_low)
            buffers.ctrl[:, hand.ctrl] = ctrl.to(index.dtype)
            if self.task.free_base:
                force = hand_a[:, 0:3] * POLICY_DT * self.task.transition_scale * BASE_FORCE_SCALE
                torque = (hand_a[:, 3:6] * POLICY_DT * self.task.orientation_scale * BASE_TORQUE_SCALE).float()
                # Ball-joint generalised forces are torques in the mount's current frame.
                mount_rot = state[f"{name}_hand_base_rot"].to(index.device)
                local_torque = quat_apply(quat_conjugate(mount_rot), torque)
                buffers.qfrc[:, hand.base_force] = force.to(index.dtype)
                buffers.qfrc[:, hand.base_torque] = local_torque.to(index.dtype)

    def _read_state(self) -> dict[str, torch.Tensor]:
        state = self.reader.read(self.buffers.qpos, self.buffers.qvel, self.buffers.sensordata)
        self._add_goals(state)
        state["actions"] = self.actions
        state.update(self._dof_limits)
        return state

    def _new_goal_rotation(self, reached: RowSelection | MaskSelection) -> None:
        """Reached goals get a new random rotation (shared by all objects, as at reset), visible in this step's obs."""
        reached.put(self.goal_rot, self._random_rotation(reached.count).unsqueeze(1))
        self._add_goals(self._state)

    def _add_goals(self, state: dict[str, torch.Tensor]) -> None:
        # Copies, not views: resets redraw `goal_rot` in place, and `final_state` must keep the goal it was scored on.
        for k, suffix in enumerate(OBJECT_SUFFIXES[: self.task.num_objects]):
            state[f"goal{suffix}_pos"] = self.goal_pos[:, k].clone()
            state[f"goal{suffix}_rot"] = self.goal_rot[:, k].clone()
            state[f"goal{suffix}_pose"] = torch.cat([self.goal_pos[:, k], self.goal_rot[:, k]], -1)

    def _uniform(self, *shape: int, low: float = -1.0, high: float = 1.0) -> torch.Tensor:
        return low + (high - low) * torch.rand(*shape, generator=self.generator, device=self.generator.device)

    def _random_rotation(self, count: int) -> torch.Tensor:
        """Bi-DexHands' randomize_rotation: a rotation about x by π·u1, then about y by π·u2 ((x, y, z, w))."""
        u = self._uniform(count, 2)
        qx = quat_from_angle_axis(u[:, 0] * math.pi, constant((1.0, 0.0, 0.0), u.dtype, u.device).expand(count, 3))
        qy = quat_from_angle_axis(u[:, 1] * math.pi, constant((0.0, 1.0, 0.0), u.dtype, u.device).expand(count, 3))
        return quat_mul(qx, qy)

    def _reset_envs(self, envs: RowSelection | MaskSelection) -> None:
        """New episode for `envs`: hand joints near default, bases at start, eggs at start with noise, new goals."""
        count, index, buffers = envs.count, self._index, self.buffers
        envs.put(buffers.qpos, index.qpos0)
        envs.put(buffers.qvel, 0.0)
        for hand in index.hands:
            u = self._uniform(count, 24, low=0.0, high=1.0)
            span = hand.joint_low - hand.default_dof + u * (hand.joint_high - hand.joint_low)
            envs.put(buffers.qpos, hand.default_dof + self.task.reset_dof_pos_noise * span, hand.qpos)
        identity = constant((0.0, 0.0, 0.0, 1.0), torch.float32, index.device).expand(count, 4)
        goal_rot = self._random_rotation(count) if self.task.random_goal_rotation else identity
        for k, (start, qadr) in enumerate(zip(index.object_starts, index.object_qpos)):
            pos = start + self.task.reset_position_noise * self._uniform(count, 3)
            rot = xyzw_to_wxyz(self._random_rotation(count) if self.task.random_object_rotation else identity)
            envs.put(buffers.qpos, torch.cat([pos, rot], -1), qadr)
            envs.put(self.goal_rot, goal_rot, k)
        if len(index.joint_qpos):
            envs.put(buffers.qpos, index.object_dof_start, index.joint_qpos)
            envs.put(buffers.qvel, index.object_dof_start_vel, index.joint_dof)
        envs.put(buffers.qfrc, 0.0)
        envs.put(self.progress_buf, 0)
        envs.put(self.successes, 0.0)
        for flag in self.extra_successes.values():
            envs.put(flag, 0.0)
        self.sim.refresh(envs)


class _HandColumns:
    """One hand's columns in the simulator buffers and its joint/actuator ranges, as tensors on the sim device."""

    def __init__(self, hand: HandIndex, device: torch.device):
        def index(a):
            return torch.as_tensor(np.asarray(a), dtype=torch.long, device=device)

        def value(a):  # float64 like MuJoCo's own arrays, so the CPU backend computes exactly what it always did
            return torch.as_tensor(np.asarray(a, dtype=np.float64), device=device)

        self.qpos, self.ctrl = index(hand.qpos), index(hand.ctrl)
        self.ctrl_low, self.ctrl_high = value(hand.ctrl_low), value(hand.ctrl_high)
        self.joint_low, self.joint_high = value(hand.joint_low), value(hand.joint_high)
        self.default_dof = value(np.clip(0.0, hand.joint_low, hand.joint_high))
        if hand.base_dof is not None:
            self.base_force, self.base_torque = index(hand.base_dof[:3]), index(hand.base_dof[3:])


class _SimIndex:
    """Where the env writes in the simulator buffers, and the reset values, prepared once on the sim device."""

    def __init__(self, scene: Scene, task: TaskConfig, device: torch.device, dtype: torch.dtype):
        self.device, self.dtype = device, dtype
        self.hands = [_HandColumns(hand, device) for hand in scene.hands.values()]
        self.qpos0 = torch.as_tensor(scene.model.qpos0, device=device)
        self.object_starts = [torch.tensor(start, device=device) for start in task.layout.object_starts]
        self.object_qpos = [torch.as_tensor(q, dtype=torch.long, device=device) for q in scene.object_qpos]
        self.joint_qpos = torch.as_tensor(scene.joint_qpos, dtype=torch.long, device=device)
        self.joint_dof = torch.as_tensor(scene.joint_dof, dtype=torch.long, device=device)
        self.object_dof_start = torch.tensor(task.object_dof_start, dtype=torch.float64, device=device)
        self.object_dof_start_vel = (torch.tensor(task.object_dof_start_vel, dtype=torch.float64, device=device)
                                     if task.object_dof_start_vel else 0.0)
