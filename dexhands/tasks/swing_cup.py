"""ShadowHandSwingCup: two hands turn a two-handled mug half a turn about its vertical axis on a small table.

Mug (`dexhands.kitchen_props.add_mug`: ≈0.18 × 0.10 × 0.16 m, a C-shaped handle on each side, a lid sliding up
0-0.108 m; density 500) free on a 0.3 × 0.3 × 0.6 m table at the origin, turned by yaw 1.57 so that its right handle
points to the right hand (y > 0). Hands as in the original: (0.35, ±0.2, 0.8), Isaac euler (π, ±1.57, 1.57): palms
facing each other across the mug, fingers towards -x. Keypoints (the original's): `cup_right_handle_pos` = mug +
0.062 local x, `cup_left_handle_pos` = mug - 0.06 local x (the original writes it as + 0.06 along the z axis of its
body link, which points along the mug's -x): the middle of each handle's opening. Goal: `goal_rot`, yaw 1.5π
(absolute), i.e. the mug turned by π, the right handle pointing to the left hand.

Reward (Bi-DexHands code): -f_R - f_L + [f_R < 0.4 and f_L < 0.4]·(5/(d_rot + 0.1) - 1), f = the fingersum of each hand
to its own handle point, d_rot = 2·asin(‖vec(q_mug ⊗ q_goal⁻¹)‖). Success: d_rot < 0.785 (latched; the mug turned
by at least 3π/4 either way and upright). Reset: mug z ≤ 0.3; 300 steps (Bi-DexHands' yaml; Eureka's copy uses 150).
Observation: 398 hand dims + mug pose 7, linear velocity 3, angular velocity ×0.2 3 + right and left handle points
3 + 3 = 417, as the original (the goal is not observed, as there).

Deviations: primitive shapes instead of the PartNet meshes (see `kitchen_props`); the mug rests on the table (root
0.684 m: the original spawns its root, 0.084 m above the mug's bottom, at the table top 0.6 m, and PhysX pushes it
out). As in the original yaml, no reset noise on the hand joints. A scripted turn succeeds
(`test_dexhands_swing_cup.py`): each hand closes its fingers round its handle's grip bar through the opening, then both
carry their handles round the mug's axis (the hands turning with it) until the mug has turned by π.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import torch

from dexhands.kitchen_props import MUG_BODY_Z, MUG_KEYPOINTS, add_mug
from dexhands.props import add_table
from dexhands.rotations import isaac_euler_to_wxyz, rotation_distance
from dexhands.scene import HandPose, SceneLayout
from dexhands.tasks.base import VEL_OBS_SCALE, TaskConfig
from dexhands.tasks.common import PI, fingertip_distance_sum, link_point, set_object_state

MUG_POS = (0.0, 0.0, 0.6 - MUG_BODY_Z[0])  # resting on the table
MUG_YAW = 1.57
GOAL_YAW = 1.5 * math.pi
TURNED_ANGLE = 0.785  # success threshold on d_rot
NEAR_SUM = 0.4  # both fingersums below this unlock the rotation term


@dataclass(frozen=True)
class SwingCupTask(TaskConfig):
    def add_task_state(self, state, bodies, joint_pos, joint_vel) -> None:
        set_object_state(state, bodies["mug"])
        state["cup_right_handle_pos"] = link_point(bodies["mug"], MUG_KEYPOINTS["right"])
        state["cup_left_handle_pos"] = link_point(bodies["mug"], MUG_KEYPOINTS["left"])
        goal = torch.tensor([0.0, 0.0, math.sin(GOAL_YAW / 2), math.cos(GOAL_YAW / 2)],
                            dtype=state["object_rot"].dtype, device=state["object_rot"].device)
        state["goal_rot"] = goal.expand_as(state["object_rot"]).clone()
        state["object_dof_pos"] = joint_pos
        state["object_dof_vel"] = joint_vel

    def observation_block(self, state) -> list[torch.Tensor]:
        return [state["object_pose"], state["object_linvel"], VEL_OBS_SCALE * state["object_angvel"],
                state["cup_right_handle_pos"], state["cup_left_handle_pos"]]

    def compute_reward(self, state):
        right = fingertip_distance_sum(state, "right", state["cup_right_handle_pos"])
        left = fingertip_distance_sum(state, "left", state["cup_left_handle_pos"])
        turn = rotation_distance(state["object_rot"], state["goal_rot"])
        near = (right < NEAR_SUM) & (left < NEAR_SUM)
        reward = -right - left + near * (5.0 / (turn.abs() + 0.1) - 1.0)
        return reward, turn < TURNED_ANGLE, state["object_pos"][:, 2] <= 0.3

    def state_meanings(self) -> dict[str, str]:
        return {
            "object_pos": "mug frame origin (on its axis at the handles' mid-height, 0.084 m above its bottom), world "
            "frame, m",
            "object_rot": "mug orientation quaternion (x, y, z, w); the right handle points along the mug's local +x, "
            "the left handle along -x; starts at yaw π/2 (right handle towards the right hand, +y)",
            "object_pose": "object_pos and object_rot concatenated",
            "object_linvel": "mug linear velocity, world frame, m/s",
            "object_angvel": "mug angular velocity, world frame, rad/s",
            "cup_right_handle_pos": "middle of the right handle's opening (mug + 0.062 m local x), world frame, m",
            "cup_left_handle_pos": "middle of the left handle's opening (mug - 0.06 m local x), world frame, m",
            "goal_rot": "goal orientation of the mug (x, y, z, w): upright, yaw 1.5π (turned by π from the start)",
            "object_dof_pos": "lid joint (N, 1): slide upwards off the mug, 0 (closed) ... 0.108 m",
            "object_dof_vel": "lid joint velocity, m/s",
        }


SWING_CUP = SwingCupTask(
    name="ShadowHandSwingCup",
    layout=SceneLayout(
        right=HandPose((0.35, 0.2, 0.8), (PI, 1.57, 1.57)),
        left=HandPose((0.35, -0.2, 0.8), (PI, -1.57, 1.57)),
        free_base=True,
        hand_contacts=True,  # Isaac Gym collision filter 0
        object_starts=(),
        goal_starts=(),
        props=(partial(add_table, size=(0.3, 0.3, 0.6)),
               partial(add_mug, pos=MUG_POS, quat=list(isaac_euler_to_wxyz(0.0, 0.0, MUG_YAW)))),
        tracked_bodies=("mug",),
        tracked_joints=("mug_lid_slide",),
        camera=((0.95, 0.0, 1.15), (0, 1, 0, -0.5, 0, 0.87)),
    ),
    episode_length=300,
    dist_reward_scale=0.0,  # unused by this reward
    transition_scale=0.1,
    orientation_scale=0.1,
    reset_dof_pos_noise=0.0,
    declared_obs_dim=417,
    object_dof_start=(0.0,),
    description="Two free-moving hands hover at either side of a mug standing on a small table, palms facing each "
    "other across it (right hand at y > 0), fingers pointing away from their forearms (towards -x); the mug has a "
    "handle on each side, the right one towards the right hand; the hands must turn the mug about its vertical axis "
    "by half a turn, to the goal orientation (right handle towards the left hand).",
)
