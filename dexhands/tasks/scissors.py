"""ShadowHandScissors ("Open Scissors"): the two hands, palms down over a table, pull the scissors' legs apart.

Scissors (`dexhands.tool_props.add_scissors`): free, lying flat on a 0.5 × 1 × 0.6 m table, yaw 1.57, so the
blades point to -x and the two finger loops face the hands (+x): the right leg's loop at y ≈ +0.09, the left
leg's at y ≈ -0.09. Hinge q ∈ [-0.597, 0.4] rad, reset at -0.59 (closed); growing q opens the scissors.
Keypoints (`scissors_right_handle_pos`, `scissors_left_handle_pos`): the centre of each leg's finger loop at the
leg's mid-thickness (our definition; the original's keypoints are offsets on its PartNet legs).

Reward (Bi-DexHands): 2 + up - f_R - f_L, up = [f_R < 0.7 and f_L < 0.7]·5·(0.59 + q), with f the fingersums to
the hand's own loop. Success: q > -0.3 (latched). Reset: up < -0.5 (q below -0.69, i.e. only if the joint
limit were pushed 0.09 rad through: MuJoCo's soft limit gives -0.631 under a 20 N·m closing torque and -0.665
under 40 N·m, so only squeezing the loops together with ≳ 200 N triggers it) or a fingersum ≥ 1.75; 150 steps.

Deviations: the scissors rest on the table top (origin 0.608 m: the pivot, 8 mm above the table; the original
spawns the actor at 0.6); the hand poses are not listed in the reference for this task: we use the palms-down
table pose of Switch/PushBlock, (0.55, ±0.2, 0.8) euler (π, 0, 1.57); the observation gives the right loop's
keypoint before the left one's. A scripted opening (index and middle finger of each hand hooked into its loop,
hands drawn apart along y) passes q = -0.3 in under 60 steps (`test_dexhands_scissors.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch

from dexhands.props import add_table
from dexhands.scene import SceneLayout
from dexhands.tasks.base import VEL_OBS_SCALE, TaskConfig
from dexhands.tasks.common import PALMS_DOWN_LEFT, PALMS_DOWN_RIGHT, fingertip_distance_sum, link_point, set_object_state
from dexhands.tool_props import SCISSORS_KEYPOINTS, SCISSORS_LEG_THICKNESS, add_scissors

SCISSORS_POS = (0.0, 0.0, 0.6 + SCISSORS_LEG_THICKNESS)
SCISSORS_START = -0.59
OPEN_ANGLE = -0.3  # success threshold


@dataclass(frozen=True)
class ScissorsTask(TaskConfig):
    def add_task_state(self, state, bodies, joint_pos, joint_vel) -> None:
        set_object_state(state, bodies["scissors"])
        state["scissors_right_handle_pos"] = link_point(bodies["scissors"], SCISSORS_KEYPOINTS["right"])
        state["scissors_left_handle_pos"] = link_point(bodies["scissors_left_leg"], SCISSORS_KEYPOINTS["left"])
        state["object_dof_pos"] = joint_pos
        state["object_dof_vel"] = joint_vel

    def observation_block(self, state) -> list[torch.Tensor]:
        return [state["object_pose"], state["object_linvel"], VEL_OBS_SCALE * state["object_angvel"],
                state["scissors_right_handle_pos"], state["scissors_left_handle_pos"]]

    def compute_reward(self, state):
        right = fingertip_distance_sum(state, "right", state["scissors_right_handle_pos"])
        left = fingertip_distance_sum(state, "left", state["scissors_left_handle_pos"])
        angle = state["object_dof_pos"][:, 0]
        near = (right < 0.7) & (left < 0.7)
        up = near * 5.0 * (0.59 + angle)
        reward = 2.0 + up - right - left
        terminate = (up < -0.5) | (right >= 1.75) | (left >= 1.75)
        return reward, angle > OPEN_ANGLE, terminate

    def state_meanings(self) -> dict[str, str]:
        return {
            "object_pos": "scissors pivot (the right leg's frame origin), world frame, m",
            "object_rot": "scissors (right leg) orientation quaternion (x, y, z, w); starts at a yaw of 1.57",
            "object_pose": "object_pos and object_rot concatenated",
            "object_linvel": "scissors (right leg) linear velocity, world frame, m/s",
            "object_angvel": "scissors (right leg) angular velocity, world frame, rad/s",
            "scissors_right_handle_pos": "centre of the right leg's finger loop (y > 0 at the start), for the right "
            "hand, world frame, m",
            "scissors_left_handle_pos": "centre of the left leg's finger loop (y < 0 at the start), for the left hand, "
            "world frame, m",
            "object_dof_pos": "scissors hinge angle (N, 1): -0.597 closed (start -0.59), 0.4 fully open, rad",
            "object_dof_vel": "scissors hinge angular velocity, rad/s",
        }


SCISSORS = ScissorsTask(
    name="ShadowHandScissors",
    layout=SceneLayout(
        right=PALMS_DOWN_RIGHT,
        left=PALMS_DOWN_LEFT,
        free_base=True,
        hand_contacts=True,  # Isaac Gym collision filter 0
        object_starts=(),
        goal_starts=(),
        props=(partial(add_table, size=(0.5, 1.0, 0.6)), partial(add_scissors, pos=SCISSORS_POS, yaw=1.57)),
        tracked_bodies=("scissors", "scissors_left_leg"),
        tracked_joints=("scissors_hinge",),
        camera=((0.85, 0.0, 1.4), (0, 1, 0, -0.77, 0, 0.64)),
    ),
    episode_length=150,
    dist_reward_scale=0.0,  # unused by this reward
    transition_scale=0.5,
    orientation_scale=0.1,
    declared_obs_dim=417,
    object_dof_start=(SCISSORS_START,),
    description="Two free-moving hands, palms down above a table, fingers pointing away from the viewer; closed "
    "scissors lie flat on the table with their two finger loops towards the hands (right loop at y > 0, left loop "
    "at y < 0); the hands must hook into the loops and pull the legs apart to open the scissors.",
)
