"""The five object-throwing tasks: Over, CatchUnderarm, CatchOver2Underarm, CatchAbreast, TwoCatchUnderarm.

One egg (two for TwoCatchUnderarm) must reach a goal pose held out of reach of the hand that starts with it.
Reward (per egg) exp(-0.2·(α·d_pos + d_rot)) with d_rot = 2·asin(‖vec(q_obj ⊗ q_goal⁻¹)‖); success is
position only (d_pos < 0.03, or d1 + d2 < 0.06 for two eggs), latched for the episode.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dexhands.rotations import rotation_distance
from dexhands.scene import HandPose, SceneLayout
from dexhands.tasks.base import TaskConfig
from dexhands.tasks.common import constant

PI = 3.14159  # the original configs write π with 5 decimals


@dataclass(frozen=True)
class ThrowTask(TaskConfig):
    fall_height: float = 0.2  # an egg at or below this height ends the episode
    # Optional drift rule: the state tensor `drift_key` (per hand) must stay within `max_drift` of `drift_centres`.
    drift_key: str = ""
    drift_centres: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
    max_drift: float = 0.1

    def compute_reward(self, state: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        suffixes = [""] if self.num_objects == 1 else ["", "_another"]
        reward = torch.zeros_like(state["object_pos"][:, 0])
        total_dist = torch.zeros_like(reward)
        fallen = torch.zeros_like(reward, dtype=torch.bool)
        for suffix in suffixes:
            dist = torch.norm(state[f"object{suffix}_pos"] - state[f"goal{suffix}_pos"], dim=-1)
            rot = rotation_distance(state[f"object{suffix}_rot"], state[f"goal{suffix}_rot"])
            reward = reward + torch.exp(-0.2 * (dist * self.dist_reward_scale + rot))
            total_dist = total_dist + dist
            fallen = fallen | (state[f"object{suffix}_pos"][:, 2] <= self.fall_height)
        success = total_dist < 0.03 * len(suffixes)
        terminate = fallen
        if self.drift_centres is not None:
            for hand, centre in zip(("right", "left"), self.drift_centres):
                centre_t = constant(tuple(centre), reward.dtype, reward.device)
                drift = torch.norm(state[f"{hand}_{self.drift_key}"] - centre_t, dim=-1)
                terminate = terminate | (drift >= self.max_drift)
        return reward, success, terminate


def _throw_layout(right: HandPose, left: HandPose, free_base: bool, objects, goals) -> SceneLayout:
    return SceneLayout(right=right, left=left, free_base=free_base, object_starts=tuple(objects), goal_starts=tuple(goals))


OVER = ThrowTask(
    name="ShadowHandOver",
    layout=_throw_layout(HandPose((0, 0, 0.5)), HandPose((0, -1, 0.5), (0, 0, PI)), False,
                         [(0, -0.39, 0.54)], [(0, -0.64, 0.54)]),
    episode_length=75,
    dist_reward_scale=50.0,
    description="Two fixed hands, palms up, fingers pointing at each other; the right hand holds an egg and must "
    "throw it over to the left hand, which must catch it at the goal position.",
)

CATCH_UNDERARM = ThrowTask(
    name="ShadowHandCatchUnderarm",
    layout=_throw_layout(HandPose((0, 0, 0.5)), HandPose((0, -1.15, 0.5), (0, 0, PI)), True,
                         [(0, -0.39, 0.54)], [(0, -0.79, 0.54)]),
    episode_length=75,
    dist_reward_scale=50.0,
    transition_scale=0.05,
    orientation_scale=0.5,
    fall_height=0.1,
    description="Two free-moving hands, palms up, facing each other; the right hand throws an egg underarm to the "
    "left hand, which must catch it at the goal position.",
)

CATCH_OVER2UNDERARM = ThrowTask(
    name="ShadowHandCatchOver2Underarm",
    layout=_throw_layout(HandPose((0, 0, 0.5), (1.67, PI, 0)), HandPose((0, -0.8, 0.5), (0, 0, PI)), True,
                         [(0, 0.05, 1.0)], [(0, -0.40, 0.55)]),
    episode_length=75,
    dist_reward_scale=20.0,
    transition_scale=0.1,
    orientation_scale=2.0,
    fall_height=0.3,
    drift_key="hand_base_pos",
    drift_centres=((0, 0, 0.5), (0, -0.8, 0.5)),
    description="The right hand stands vertically with the egg on its fingers and throws it overarm; the left "
    "hand, palm up, must catch it at the goal position.",
)

CATCH_ABREAST = ThrowTask(
    name="ShadowHandCatchAbreast",
    layout=_throw_layout(HandPose((0, -0.55, 0.5), (0, 0.3925, -1.57)), HandPose((0, -1.15, 0.5), (0, -0.3925, -1.57)),
                         True, [(-0.39, -0.55, 0.54)], [(-0.39, -1.15, 0.54)]),
    episode_length=150,
    dist_reward_scale=50.0,
    transition_scale=0.5,
    orientation_scale=1.0,
    drift_key="hand_palm_pos",
    drift_centres=((-0.3, -0.55, 0.5), (-0.3, -1.15, 0.5)),
    description="Two hands side by side, palms up, fingers pointing the same way; the right hand passes the egg "
    "sideways to the left hand, which must hold it at the goal position.",
)

TWO_CATCH_UNDERARM = ThrowTask(
    name="ShadowHandTwoCatchUnderarm",
    layout=_throw_layout(HandPose((0, 0, 0.5)), HandPose((0, -1.15, 0.5), (0, 0, PI)), True,
                         [(0, -0.39, 0.54), (0, -0.78, 0.54)], [(0, -0.79, 0.54), (0, -0.38, 0.54)]),
    episode_length=75,
    dist_reward_scale=50.0,
    transition_scale=0.05,
    orientation_scale=0.5,
    description="Two free-moving hands, palms up, each holding an egg; they must swap the eggs by throwing them "
    "underarm at the same time, each egg ending at the goal in the other hand.",
)

THROWING_TASKS = (OVER, CATCH_UNDERARM, CATCH_OVER2UNDERARM, CATCH_ABREAST, TWO_CATCH_UNDERARM)
