"""ShadowHandPen ("Open Pen Cap"): the two hands, palms down over a table, pull a pen's cap off its body.

Pen (`dexhands.tool_props.add_pen`): free, lying on a 0.5 × 1 × 0.6 m table along world y (the original's Isaac
euler (1.57, 1.57, 0)), 0.37 m long, the body towards the right hand (y > 0) and the cap towards the left hand.
The cap slides on the pen's axis, 0 (capped) to 0.2 m (our limit, see `tool_props`), under a weak spring-damper
(1 N/m, 0.5 N·s/m: the original's drive stiffness and damping). Keypoints (our definition):
`pen_right_handle_pos` on the axis under the body's grip stop, next to the cap's mouth, and `pen_left_handle_pos`
the cap's centre; 0.14 m apart when capped.

Reward (Bi-DexHands): exp(-10·f_R) + exp(-10·f_L) + [f_R < 0.75 and f_L < 0.75]·(5·‖p_R - p_L‖ - 0.8), with f the
fingersums to the hand's own keypoint. Success: ‖p_R - p_L‖ > 0.3 (latched; the cap pulled ≥ 0.16 m). Reset: a
fingersum ≥ 1.5; 125 steps.

Deviations: the pen rests on the table (origin 0.612 m, the original spawns it at 0.6); the reference gives no
hand poses for this task: we use the palms-down table pose of Switch/PushBlock, (0.55, ±0.2, 0.8) euler
(π, 0, 1.57); two blocks round the pen (a grip stop on the body by the cap's mouth, a clip block on the cap;
7 cm wide, flat-bottomed) give hooked fingers something to pull on and keep the pen from rolling away; the
observation gives the body's keypoint before the cap's. A scripted pull (two fingers of each hand hooked behind
the blocks, hands drawn apart) takes the cap off in about 65 steps (`test_dexhands_pen.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch

from dexhands.props import add_table
from dexhands.rotations import isaac_euler_to_wxyz
from dexhands.scene import SceneLayout
from dexhands.tasks.base import VEL_OBS_SCALE, TaskConfig
from dexhands.tasks.common import PALMS_DOWN_LEFT, PALMS_DOWN_RIGHT, fingertip_distance_sum, link_point, set_object_state
from dexhands.tool_props import PEN_KEYPOINTS, PEN_RADIUS, add_pen, pen_local

PEN_POS = (0.0, 0.0, 0.6 + PEN_RADIUS)
OPEN_DISTANCE = 0.3  # success threshold


@dataclass(frozen=True)
class PenTask(TaskConfig):
    def add_task_state(self, state, bodies, joint_pos, joint_vel) -> None:
        set_object_state(state, bodies["pen"])
        state["pen_right_handle_pos"] = link_point(bodies["pen"], tuple(pen_local(*PEN_KEYPOINTS["right"])))
        state["pen_left_handle_pos"] = link_point(bodies["pen_cap"], tuple(pen_local(*PEN_KEYPOINTS["left"])))
        state["object_dof_pos"] = joint_pos
        state["object_dof_vel"] = joint_vel

    def observation_block(self, state) -> list[torch.Tensor]:
        return [state["object_pose"], state["object_linvel"], VEL_OBS_SCALE * state["object_angvel"],
                state["pen_right_handle_pos"], state["pen_left_handle_pos"]]

    def compute_reward(self, state):
        right = fingertip_distance_sum(state, "right", state["pen_right_handle_pos"])
        left = fingertip_distance_sum(state, "left", state["pen_left_handle_pos"])
        apart = torch.norm(state["pen_right_handle_pos"] - state["pen_left_handle_pos"], dim=-1)
        near = (right < 0.75) & (left < 0.75)
        reward = torch.exp(-10.0 * right) + torch.exp(-10.0 * left) + near * (5.0 * apart - 0.8)
        terminate = (right >= 1.5) | (left >= 1.5)
        return reward, apart > OPEN_DISTANCE, terminate

    def state_meanings(self) -> dict[str, str]:
        return {
            "object_pos": "pen body frame origin (the pen's middle when capped), world frame, m",
            "object_rot": "pen body orientation quaternion (x, y, z, w); its -z axis is the pen axis towards the body's end",
            "object_pose": "object_pos and object_rot concatenated",
            "object_linvel": "pen body linear velocity, world frame, m/s",
            "object_angvel": "pen body angular velocity, world frame, rad/s",
            "pen_right_handle_pos": "grip point on the pen body next to the cap (y > 0 side), for the right hand, "
            "world frame, m",
            "pen_left_handle_pos": "centre of the pen cap (y < 0 side), for the left hand, world frame, m",
            "object_dof_pos": "cap slide (N, 1): 0 = capped, 0.2 = fully pulled off (limit), m",
            "object_dof_vel": "cap slide velocity, m/s",
        }


PEN = PenTask(
    name="ShadowHandPen",
    layout=SceneLayout(
        right=PALMS_DOWN_RIGHT,
        left=PALMS_DOWN_LEFT,
        free_base=True,
        hand_contacts=True,  # Isaac Gym collision filter 0
        object_starts=(),
        goal_starts=(),
        props=(partial(add_table, size=(0.5, 1.0, 0.6)),
               partial(add_pen, pos=PEN_POS, quat=list(isaac_euler_to_wxyz(1.57, 1.57, 0.0)))),
        tracked_bodies=("pen", "pen_cap"),
        tracked_joints=("pen_cap_slide",),
        camera=((0.85, 0.0, 1.4), (0, 1, 0, -0.77, 0, 0.64)),
    ),
    episode_length=125,
    dist_reward_scale=0.0,  # unused by this reward
    transition_scale=0.5,
    orientation_scale=0.1,
    declared_obs_dim=417,
    object_dof_start=(0.0,),
    description="Two free-moving hands, palms down above a table, fingers pointing away from the viewer; a capped pen "
    "lies across the table under them, its body towards the right hand (y > 0) and its cap towards the left hand; "
    "the hands must pull the cap off the pen.",
)
