"""What a task declares: scene layout, control scales, episode length, and its reward/success/reset rule."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dexhands.rotations import quat_conjugate, quat_mul
from dexhands.scene import SceneLayout

OBJECT_SUFFIXES = ("", "_another")  # Bi-DexHands names of the first and second object
VEL_OBS_SCALE = 0.2


@dataclass(frozen=True)
class TaskConfig:
    """Facts of one Bi-DexHands task (see the reference notes; numbers from the original task yamls)."""

    name: str
    layout: SceneLayout
    episode_length: int
    dist_reward_scale: float
    transition_scale: float = 0.0  # base force per unit action = dt · transition_scale · 1e5 N
    orientation_scale: float = 0.0  # base torque per unit action = dt · orientation_scale · 1e3 N·m
    reset_position_noise: float = 0.01
    reset_dof_pos_noise: float = 0.2
    description: str = ""
    declared_obs_dim: int | None = None  # the original's declared size when its task block is not 24 per egg
    object_dof_start: tuple[float, ...] = ()  # reset position of each tracked object joint
    object_dof_start_vel: tuple[float, ...] = ()  # reset velocity (zero unless the original sets one)
    extra_success_names: tuple[str, ...] = ()  # keys of `extra_success`, latched and reported in `info`
    random_object_rotation: bool = True  # eggs start in a random orientation; blocks on a table do not
    random_goal_rotation: bool = True
    # `successes` bookkeeping: "latch" keeps the episode's maximum of the success value (a 0/1 flag, or PushBlock's
    # 0/0.5/1 grade); "count" adds it up (ReOrientation's running count of goals reached).
    success_mode: str = "latch"
    new_goal_on_success: bool = False  # ReOrientation: a reached goal gets a new random rotation at once

    @property
    def free_base(self) -> bool:
        return self.layout.free_base

    @property
    def num_objects(self) -> int:
        return len(self.layout.object_starts)

    @property
    def act_dim(self) -> int:
        return 52 if self.free_base else 40

    @property
    def obs_dim(self) -> int:
        if self.declared_obs_dim is not None:
            return self.declared_obs_dim
        per_hand = 24 * 3 + 65 + 30 + (6 + 26 if self.free_base else 20)
        return 2 * per_hand + 24 * self.num_objects

    def compute_reward(self, state: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(reward, success now (bool, or a float grade/count), early-termination condition) from the named state."""
        raise NotImplementedError

    def extra_success(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Further success conditions, latched like `success` and reported in `info` under their names."""
        return {}

    def add_task_state(self, state: dict[str, torch.Tensor], bodies: dict[str, dict[str, torch.Tensor]],
                       joint_pos: torch.Tensor, joint_vel: torch.Tensor) -> None:
        """Add the task's named tensors (object pose, keypoints...) from the tracked bodies and joints.

        `bodies[name]` holds `pos`, `rot` (x, y, z, w), `linvel`, `angvel` (world frame) of each tracked body;
        `joint_pos` / `joint_vel` are (N, tracked joints). Egg tasks read their eggs elsewhere: nothing to add.
        """

    def observation_block(self, state: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        """The task part of the observation, after the 374/398 hand dims: per egg, pose 7, linear velocity 3,
        angular velocity ×0.2 3, goal pose 7, object ⊗ goal⁻¹ 4 (the object-throwing tasks)."""
        parts = []
        for suffix in OBJECT_SUFFIXES[: self.num_objects]:
            parts += [
                state[f"object{suffix}_pose"],
                state[f"object{suffix}_linvel"],
                VEL_OBS_SCALE * state[f"object{suffix}_angvel"],
                state[f"goal{suffix}_pose"],
                quat_mul(state[f"object{suffix}_rot"], quat_conjugate(state[f"goal{suffix}_rot"])),
            ]
        return parts

    def state_meanings(self) -> dict[str, str]:
        """Descriptions of the task's own state names (override the egg wording of the shared ones)."""
        return {}
