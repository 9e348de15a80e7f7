"""What a task declares: scene layout, control scales, episode length, and its reward/success/reset rule."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dexhands.scene import SceneLayout


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
        per_hand = 24 * 3 + 65 + 30 + (6 + 26 if self.free_base else 20)
        return 2 * per_hand + 24 * self.num_objects

    def compute_reward(self, state: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(reward, success condition now, early-termination condition) from the named state tensors."""
        raise NotImplementedError
