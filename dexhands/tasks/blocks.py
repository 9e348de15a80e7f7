"""PushBlock and BlockStack: two free 5 cm cubes on a table, one per hand (free bases, palms down).

Block names follow Bi-DexHands: `block_right_handle_pos` is the first cube (the right hand's, y > 0),
`block_left_handle_pos` the second (keypoint offsets are zero there, so a handle is the cube centre); they are
also `object_pos` / `object_another_pos`. fingersum = Σ over a hand's five fingertip points of the distance to
its block.

| task | reward | success | reset |
|---|---|---|---|
| PushBlock | (1.2 - f_R) + (1.2 - f_L) + 5 - 5·d_L - 5·d_R, d = block-to-goal distance | 1 if d_R, d_L ≤ 0.1, 0.5 if only d_L ≤ 0.1 | f ≥ 1.2 |
| BlockStack | 1.5 - f_R - f_L + [f_R, f_L < 0.5]·2·(0.24 - g1 - g2) + [g1, g2 < 0.07]·bonus | bonus > 1 | f ≥ 0.75 |

PushBlock goals: (-0.2, ±0.2, 0.625), 20 cm in front of each block. `info["success"]` keeps the original's graded
value latched as the episode's maximum: 0, 0.5 (left block at its goal only) or 1 (both); the original's
`successes` flag takes these values too, so the mean over envs is the same metric.
BlockStack: the left block must go on top of the right one; targets (0, 0, 0.675) for the left (g1) and
(0, 0, 0.625) for the right (g2); stack bonus = 50·(0.05 - |z_left - 0.675|), so success needs the left block
within 3 cm of the stacking height while both are within 7 cm of their targets.

Deviations and choices: the cubes start resting on the table (centre z = 0.625; the original spawns PushBlock's
at 0.6, half inside the table, which MuJoCo would resolve with a violent push-out), upright, with no position
noise; PushBlock's cube density is MuJoCo's/Isaac's default 1000 kg/m³ (0.125 kg), BlockStack's 100.
BlockStack's hands are yawed so that their fingers point at each other over the table (right hand euler
(π, 0, π), left (π, 0, 0)). The goal markers are translucent cubes (no contacts) at the targets. The observation fills
398 hand dims + first block pose 7, linear velocity 3, angular velocity ×0.2 3 + right and left block positions
3 + 3, then PushBlock: left and right goal positions 3 + 3 (423 of 428 declared), BlockStack: goal pose 7
(`goal_pose`: the bottom target, identity rotation; 424 of 428); the rest is zero as in the original.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch

from dexhands.props import add_table
from dexhands.scene import HandPose, SceneLayout
from dexhands.tasks.base import VEL_OBS_SCALE, TaskConfig
from dexhands.tasks.common import PALMS_DOWN_LEFT, PALMS_DOWN_RIGHT, PI, constant, fingertip_distance_sum

PUSH_GOALS = {"right": (-0.2, 0.2, 0.625), "left": (-0.2, -0.2, 0.625)}
STACK_TOP = (0.0, 0.0, 0.675)  # target of the left block
STACK_BOTTOM = (0.0, 0.0, 0.625)  # target of the right block


def _const(value, like: torch.Tensor) -> torch.Tensor:
    return constant(tuple(value), like.dtype, like.device).expand_as(like).clone()


@dataclass(frozen=True)
class BlockTask(TaskConfig):
    def add_task_state(self, state, bodies, joint_pos, joint_vel) -> None:
        state["block_right_handle_pos"] = state["object_pos"]
        state["block_left_handle_pos"] = state["object_another_pos"]

    def _fingersums(self, state) -> tuple[torch.Tensor, torch.Tensor]:
        return (fingertip_distance_sum(state, "right", state["block_right_handle_pos"]),
                fingertip_distance_sum(state, "left", state["block_left_handle_pos"]))

    def _block_meanings(self) -> dict[str, str]:
        return {
            "object_pos": "right block (5 cm cube, the right hand's, starts at y > 0) centre, world frame, m",
            "object_rot": "right block orientation quaternion (x, y, z, w)",
            "object_pose": "object_pos and object_rot concatenated",
            "object_linvel": "right block linear velocity, world frame, m/s",
            "object_angvel": "right block angular velocity, world frame, rad/s",
            "object_another_pos": "left block (the left hand's, starts at y < 0) centre, world frame, m",
            "object_another_rot": "left block orientation quaternion (x, y, z, w)",
            "object_another_pose": "object_another_pos and object_another_rot concatenated",
            "object_another_linvel": "left block linear velocity, world frame, m/s",
            "object_another_angvel": "left block angular velocity, world frame, rad/s",
            "block_right_handle_pos": "right block centre (same as object_pos), world frame, m",
            "block_left_handle_pos": "left block centre (same as object_another_pos), world frame, m",
        }


@dataclass(frozen=True)
class PushBlockTask(BlockTask):
    def add_task_state(self, state, bodies, joint_pos, joint_vel) -> None:
        super().add_task_state(state, bodies, joint_pos, joint_vel)
        state["right_goal_pos"] = _const(PUSH_GOALS["right"], state["object_pos"])
        state["left_goal_pos"] = _const(PUSH_GOALS["left"], state["object_pos"])

    def observation_block(self, state) -> list[torch.Tensor]:
        return [state["object_pose"], state["object_linvel"], VEL_OBS_SCALE * state["object_angvel"],
                state["block_right_handle_pos"], state["block_left_handle_pos"],
                state["left_goal_pos"], state["right_goal_pos"]]

    def compute_reward(self, state):
        right, left = self._fingersums(state)
        d_right = torch.norm(state["right_goal_pos"] - state["block_right_handle_pos"], dim=-1)
        d_left = torch.norm(state["left_goal_pos"] - state["block_left_handle_pos"], dim=-1)
        reward = (1.2 - right) + (1.2 - left) + 5.0 - 5.0 * d_left - 5.0 * d_right
        left_done = d_left <= 0.1
        success = torch.where(left_done & (d_right <= 0.1), 1.0, torch.where(left_done, 0.5, 0.0))
        terminate = (right >= 1.2) | (left >= 1.2)
        return reward, success, terminate

    def state_meanings(self) -> dict[str, str]:
        return {**self._block_meanings(),
                "right_goal_pos": "where the right block must be pushed: (-0.2, 0.2, 0.625), world frame, m",
                "left_goal_pos": "where the left block must be pushed: (-0.2, -0.2, 0.625), world frame, m",
                "goal_pos": "goal of the right block (same as right_goal_pos), world frame, m",
                "goal_another_pos": "goal of the left block (same as left_goal_pos), world frame, m"}


@dataclass(frozen=True)
class BlockStackTask(BlockTask):
    def add_task_state(self, state, bodies, joint_pos, joint_vel) -> None:
        super().add_task_state(state, bodies, joint_pos, joint_vel)
        state["stack_top_pos"] = _const(STACK_TOP, state["object_pos"])
        state["stack_bottom_pos"] = _const(STACK_BOTTOM, state["object_pos"])

    def observation_block(self, state) -> list[torch.Tensor]:
        return [state["object_pose"], state["object_linvel"], VEL_OBS_SCALE * state["object_angvel"],
                state["block_right_handle_pos"], state["block_left_handle_pos"], state["goal_pose"]]

    def compute_reward(self, state):
        right, left = self._fingersums(state)
        g1 = torch.norm(state["stack_top_pos"] - state["block_left_handle_pos"], dim=-1)
        g2 = torch.norm(state["stack_bottom_pos"] - state["block_right_handle_pos"], dim=-1)
        near = (right < 0.5) & (left < 0.5)
        bonus = 50.0 * (0.05 - (state["block_left_handle_pos"][:, 2] - STACK_TOP[2]).abs())
        bonus = torch.where((g1 < 0.07) & (g2 < 0.07), bonus, torch.zeros_like(bonus))
        reward = 1.5 - right - left + near * 2.0 * (0.24 - g1 - g2) + bonus
        terminate = (right >= 0.75) | (left >= 0.75)
        return reward, bonus > 1.0, terminate

    def state_meanings(self) -> dict[str, str]:
        return {**self._block_meanings(),
                "stack_top_pos": "target of the left block, on top of the right one: (0, 0, 0.675), world frame, m",
                "stack_bottom_pos": "target of the right block, on the table: (0, 0, 0.625), world frame, m",
                "goal_pos": "target of the right block (same as stack_bottom_pos), world frame, m",
                "goal_another_pos": "target of the left block (same as stack_top_pos), world frame, m"}


def _block_layout(right: HandPose, left: HandPose, blocks, goals, table, density, camera, hand_contacts) -> SceneLayout:
    return SceneLayout(right=right, left=left, free_base=True, object_starts=blocks, goal_starts=goals,
                       props=(partial(add_table, size=table),), object_shape="cube", object_density=density,
                       camera=camera, hand_contacts=hand_contacts)


PUSH_BLOCK = PushBlockTask(
    name="ShadowHandPushBlock",
    layout=_block_layout(PALMS_DOWN_RIGHT, PALMS_DOWN_LEFT,
                         blocks=((0.0, 0.2, 0.625), (0.0, -0.2, 0.625)),
                         goals=(PUSH_GOALS["right"], PUSH_GOALS["left"]), table=(1.0, 1.0, 0.6), density=1000.0,
                         hand_contacts=False,  # Isaac Gym collision filter -1
                         camera=((-0.75, 0.0, 1.25), (0, -1, 0, 0.55, 0, 0.835))),
    episode_length=125,
    dist_reward_scale=0.0,  # unused by this reward
    transition_scale=0.5,
    orientation_scale=0.1,
    reset_position_noise=0.0,
    declared_obs_dim=428,
    random_object_rotation=False,
    random_goal_rotation=False,
    description="Two free-moving hands, palms down above a table, fingers pointing away from the viewer; each hand "
    "must push the cube in front of it 0.2 m further away (towards -x), onto the translucent goal cube.",
)

BLOCK_STACK = BlockStackTask(
    name="ShadowHandBlockStack",
    layout=_block_layout(HandPose((0.0, 0.6, 0.7), (PI, 0, PI)), HandPose((0.0, -0.6, 0.7), (PI, 0, 0)),
                         blocks=((0.0, 0.1, 0.625), (0.0, -0.1, 0.625)),
                         goals=(STACK_BOTTOM, STACK_TOP), table=(0.5, 1.0, 0.6), density=100.0,
                         hand_contacts=True,  # Isaac Gym collision filter 0
                         camera=((0.7, 0.0, 1.1), (0, 1, 0, -0.54, 0, 0.84))),
    episode_length=250,
    dist_reward_scale=0.0,  # unused by this reward
    transition_scale=0.2,
    orientation_scale=0.02,
    reset_position_noise=0.0,
    declared_obs_dim=428,
    random_object_rotation=False,
    random_goal_rotation=False,
    description="Two free-moving hands, palms down, fingers pointing at each other over a table with two light "
    "cubes between them; the left hand must stack its cube on top of the right hand's cube, which must end at the "
    "table centre.",
)

BLOCK_TASKS = (PUSH_BLOCK, BLOCK_STACK)
