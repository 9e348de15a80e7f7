"""ShadowHandReOrientation: two fixed hands, palms up, each holding a 5 cm cube to turn to a goal rotation.

Layout as CatchUnderarm but with fixed bases (40-D actions): right hand at (0, 0, 0.5), left at (0, -1.15, 0.5)
yawed π. Cubes (density 500, as the eggs of the throwing tasks) start above the palms at (0, -0.39, 0.60) and (0, -0.76, 0.60) (position noise 0.01, random
orientations); the goals sit at the same positions and share one random rotation.

Reward: α·(d1 + d2) + Σ_i 1/(|d_rot,i| + 0.1) + c·Σ a², α = -10, c = -0.0002 (the action penalty scale of the
Bi-DexHands hand yamls), +500 when a goal is reached; d = cube-to-goal distance, d_rot = 2·asin(‖vec(q ⊗ q_goal⁻¹)‖).

Goal reached: the original computes "first cube within 0.1 rad" and then overwrites it with "second cube within
0.1 rad", so only the second (left-hand) cube counts; reproduced. A reached goal gets a new random rotation (both
goals, as at reset) and the episode goes on. `env.successes` / `info["success"]` is the episode's running count of
goals reached (not a 0/1 flag); the paper's metric is the mean of that count over envs at episode end.
Reset: a cube at or below z = 0.2, or the 600-step time-out.
Deviation: the new goal already appears in the observation of the step that reached the old one (the original
shows it one step later; it resamples goals at the start of the next step).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dexhands.rotations import rotation_distance
from dexhands.scene import HandPose, SceneLayout
from dexhands.tasks.base import TaskConfig
from dexhands.tasks.common import PI

CUBES = ((0.0, -0.39, 0.60), (0.0, -0.76, 0.60))


@dataclass(frozen=True)
class ReOrientationTask(TaskConfig):
    rot_eps: float = 0.1
    action_penalty_scale: float = -0.0002
    reach_goal_bonus: float = 500.0
    success_tolerance: float = 0.1
    fall_height: float = 0.2

    def compute_reward(self, state):
        reward = self.action_penalty_scale * (state["actions"] ** 2).sum(-1)
        fallen = torch.zeros_like(reward, dtype=torch.bool)
        rot_dists = []
        for suffix in ("", "_another"):
            dist = torch.norm(state[f"object{suffix}_pos"] - state[f"goal{suffix}_pos"], dim=-1)
            rot = rotation_distance(state[f"object{suffix}_rot"], state[f"goal{suffix}_rot"])
            reward = reward + self.dist_reward_scale * dist + 1.0 / (rot.abs() + self.rot_eps)
            rot_dists.append(rot)
            fallen = fallen | (state[f"object{suffix}_pos"][:, 2] <= self.fall_height)
        reached = rot_dists[1].abs() < self.success_tolerance  # the first cube's test is overwritten (see above)
        reward = torch.where(reached, reward + self.reach_goal_bonus, reward)
        return reward, reached, fallen

    def state_meanings(self) -> dict[str, str]:
        return {
            "object_pos": "first cube (5 cm, in the right hand) centre, world frame, m",
            "object_rot": "first cube orientation quaternion (x, y, z, w), world frame",
            "object_linvel": "first cube linear velocity, world frame, m/s",
            "object_angvel": "first cube angular velocity, world frame, rad/s",
            "object_another_pos": "second cube (in the left hand) centre, world frame, m",
            "object_another_rot": "second cube orientation quaternion (x, y, z, w), world frame",
            "object_another_linvel": "second cube linear velocity, world frame, m/s",
            "object_another_angvel": "second cube angular velocity, world frame, rad/s",
            "goal_pos": "goal position of the first cube (its start position above the right palm), world frame, m",
            "goal_rot": "goal orientation of the first cube (x, y, z, w); resampled when a goal is reached",
            "goal_another_pos": "goal position of the second cube (its start above the left palm), world frame, m",
            "goal_another_rot": "goal orientation of the second cube (the same as goal_rot)",
        }


RE_ORIENTATION = ReOrientationTask(
    name="ShadowHandReOrientation",
    layout=SceneLayout(right=HandPose((0, 0, 0.5)), left=HandPose((0, -1.15, 0.5), (0, 0, PI)), free_base=False,
                       object_starts=CUBES, goal_starts=CUBES, object_shape="cube"),
    episode_length=600,
    dist_reward_scale=-10.0,
    success_mode="count",
    new_goal_on_success=True,
    description="Two fixed hands, palms up, fingers pointing at each other, each holding a cube; the hands must turn "
    "the cubes in place until they match the goal orientation shown by the translucent cubes (both goals share one "
    "rotation; a new one is drawn each time it is reached).",
)
