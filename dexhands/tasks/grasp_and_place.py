"""ShadowHandGraspAndPlace: the two hands, palms down over a table, bring a cube and a bucket together.

Bucket (`dexhands.container_props.add_bucket`: an open 0.11 × 0.11 × 0.10 m box, density 500, the original's
PartNet bucket 100454) at (0, 0.2) in front of the right hand, 5 cm cube (density 500) at (0, -0.2) in front of the
left hand, both free on a 1 × 1 × 0.6 m table; hands (0.55, ±0.2, 0.8) euler (π, 0, 1.57) as in the original.
Keypoints: `block_right_handle_pos` = the bucket's centre (the original: its bucket link, offsets 0), and
`block_left_handle_pos` = the cube's centre; `object_*` is the bucket.

Reward (Bi-DexHands): exp(-10·f_R) + exp(-10·f_L) + 2·exp(-10·‖bucket - cube‖), f = fingersum of the right hand to
the bucket and of the left hand to the cube. Success: ‖bucket - cube‖ < 0.2 (latched; 0.4 at the start). Reset: a
fingersum ≥ 1.5; 500 steps. Observation: 398 hand dims + bucket pose 7, linear velocity 3, angular velocity ×0.2 3
+ bucket position 3 and rotation 4 + cube position 3 and rotation 4 = 425, as the original.

Deviations: both objects rest on the table (bucket centre at 0.65, cube at 0.625; the original spawns both roots at
0.6, which for its bucket mesh may be the bottom); the cube starts upright (the original's euler (1.57, 1.57, 0)
only turns a symmetric cube); no position noise. A scripted push of the cube by the left hand towards the bucket
succeeds in about 50 steps (`test_dexhands_grasp_and_place.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch

from dexhands.container_props import BUCKET_SIZE, add_free_bucket, add_free_cube
from dexhands.props import add_table
from dexhands.scene import SceneLayout
from dexhands.tasks.base import VEL_OBS_SCALE, TaskConfig
from dexhands.tasks.common import PALMS_DOWN_LEFT, PALMS_DOWN_RIGHT, fingertip_distance_sum, set_object_state

BUCKET_POS = (0.0, 0.2, 0.6 + BUCKET_SIZE[2] / 2)
CUBE_POS = (0.0, -0.2, 0.625)
PLACE_DISTANCE = 0.2  # success threshold


@dataclass(frozen=True)
class GraspAndPlaceTask(TaskConfig):
    def add_task_state(self, state, bodies, joint_pos, joint_vel) -> None:
        set_object_state(state, bodies["bucket"])
        state["block_right_handle_pos"] = bodies["bucket"]["pos"]
        state["block_right_handle_rot"] = bodies["bucket"]["rot"]
        state["block_left_handle_pos"] = bodies["cube"]["pos"]
        state["block_left_handle_rot"] = bodies["cube"]["rot"]

    def observation_block(self, state) -> list[torch.Tensor]:
        return [state["object_pose"], state["object_linvel"], VEL_OBS_SCALE * state["object_angvel"],
                state["block_right_handle_pos"], state["block_right_handle_rot"],
                state["block_left_handle_pos"], state["block_left_handle_rot"]]

    def compute_reward(self, state):
        right = fingertip_distance_sum(state, "right", state["block_right_handle_pos"])
        left = fingertip_distance_sum(state, "left", state["block_left_handle_pos"])
        apart = torch.norm(state["block_right_handle_pos"] - state["block_left_handle_pos"], dim=-1)
        reward = torch.exp(-10.0 * right) + torch.exp(-10.0 * left) + 2.0 * torch.exp(-10.0 * apart)
        terminate = (right >= 1.5) | (left >= 1.5)
        return reward, apart < PLACE_DISTANCE, terminate

    def state_meanings(self) -> dict[str, str]:
        return {
            "object_pos": "bucket centre (an open 0.11 x 0.11 x 0.10 m box, opening up), world frame, m",
            "object_rot": "bucket orientation quaternion (x, y, z, w)",
            "object_pose": "object_pos and object_rot concatenated",
            "object_linvel": "bucket linear velocity, world frame, m/s",
            "object_angvel": "bucket angular velocity, world frame, rad/s",
            "block_right_handle_pos": "bucket centre (same as object_pos), the right hand's object, world frame, m",
            "block_right_handle_rot": "bucket orientation quaternion (x, y, z, w)",
            "block_left_handle_pos": "centre of the 5 cm cube, the left hand's object, world frame, m",
            "block_left_handle_rot": "cube orientation quaternion (x, y, z, w)",
        }


GRASP_AND_PLACE = GraspAndPlaceTask(
    name="ShadowHandGraspAndPlace",
    layout=SceneLayout(
        right=PALMS_DOWN_RIGHT,
        left=PALMS_DOWN_LEFT,
        free_base=True,
        object_starts=(),
        goal_starts=(),
        props=(partial(add_table, size=(1.0, 1.0, 0.6)), partial(add_free_bucket, name="bucket", pos=BUCKET_POS),
               partial(add_free_cube, name="cube", pos=CUBE_POS)),
        tracked_bodies=("bucket", "cube"),
        camera=((0.85, 0.0, 1.4), (0, 1, 0, -0.77, 0, 0.64)),
    ),
    episode_length=500,
    dist_reward_scale=0.0,  # unused by this reward
    transition_scale=0.5,
    orientation_scale=0.1,
    declared_obs_dim=425,
    description="Two free-moving hands, palms down above a table, fingers pointing away from the viewer; an open "
    "bucket stands in front of the right hand (y > 0) and a 5 cm cube in front of the left hand (y < 0); the hands "
    "must bring the cube and the bucket together, ideally the cube into the bucket.",
)
