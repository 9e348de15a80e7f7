"""ShadowHandKettle ("Pour Water"): the hands bring a kettle's spout into a bucket; 30 balls in the kettle are the water.

Props (`dexhands.kettle_props`): a hollow kettle (0.22 m across, 0.18 m tall, lid on a 0-0.032 m slide, spout tube
out to the front, grip bar at the back, 0.35 kg), free, yaw 1.57 (spout towards -y, handle towards +y), standing on
a 0.5 × 1 × 0.4 m table at (0, 0); the GraspAndPlace bucket (0.11 × 0.11 × 0.10 m, open) free at (0, -0.3, 0.5)
with its frame at the centre of its rim; 30 balls of 5 mm radius (water density) on the kettle's floor. Hands as in
the original: (0.55, ±0.2, 0.6) euler (π, ±1.57, 1.57), palms facing each other, fingers towards the kettle.
Keypoints (Bi-DexHands offsets): `kettle_handle_pos` = kettle + 0.15 local x (inside the handle loop),
`kettle_spout_pos` = kettle - 0.2 local x + 0.07 local z (the spout's mouth), `bucket_handle_pos` = bucket - 0.1 local
z (the centre of the bucket's bottom). The right hand (y > 0, beside the handle) works on the kettle's handle and
the left hand (beside the bucket) on the bucket: the reference gives the reward's terms, and this assignment is the
one the placement implies.

Reward (Bi-DexHands): 1 - f_R - f_L + [f_R < 0.7 and f_L < 0.7]·(0.5 - 2·‖bucket point - spout‖), f_R the right
fingersum to the handle point, f_L the left fingersum to the bucket point. Success: ‖bucket point - spout‖ < 0.05
(latched; 0.19 m at the start). Reset: bucket point z ≤ 0.2 (the bucket fell off the table); 125 steps.
Observation: 398 hand dims + kettle pose 7, linear velocity 3, angular velocity ×0.2 3 + handle point 3 + bucket
point 3 = 417, as the original.

Deviations: the kettle stands on the table (centre at 0.49 m; the original spawns its root at 0.5, which for our
0.18 m tall kettle would drop it 1 cm); the bucket's frame is its rim centre (our reading: the original spawns the
bucket's root 0.1 m above the table top, its height, so the -0.1 m keypoint is its bottom); the balls start at rest
on the kettle's floor in one 6 × 5 layer (the original stacks them near z 0.54 and lets them fall) and their
contacts are frictionless; the kettle's mass and shape details are ours (see `kettle_props`).

Solvability: success needs the spout ≥ 5 cm deep inside the upright bucket, so the kettle must be lifted and tipped
by ≥ 75° (a collision-free success pose is checked in `test_dexhands_kettle.py`). `benchmark/kettle_demo.py` finds a
keyframed right-hand script (fingers straight through the handle loop, then palm targets, torques and finger bends
searched by the cross-entropy method) that, replayed from reset, carries the kettle by its handle and tips it 83-91°
into the bucket: success at steps 55-60 from 4 reset states, bucket upright, 3-11 of the 30 balls poured in
(replayed in the test). Hand-written scripts failed: holding the kettle while it tips past ~60°, the four stacked
fingers jam in the 4.7 cm loop and the kettle slides off the fingertips; the searched script gets past this (how
exactly, we did not analyse).

Speed: the 30 balls make it the slowest task: single-thread physics about 2.1× the time per step of GraspAndPlace
under random actions (ball contacts at rest), 2.5-3× while the water sloshes in a tipped kettle.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch

from dexhands.kettle_props import (
    BUCKET_POINT,
    KETTLE_HALF_HEIGHT,
    KETTLE_HANDLE_POINT,
    KETTLE_SPOUT_POINT,
    add_kettle,
    add_rim_bucket,
    add_water,
)
from dexhands.props import add_table
from dexhands.scene import HandPose, SceneLayout
from dexhands.tasks.base import VEL_OBS_SCALE, TaskConfig
from dexhands.tasks.common import PI, fingertip_distance_sum, link_point, set_object_state

TABLE_HEIGHT = 0.4
KETTLE_POS = (0.0, 0.0, TABLE_HEIGHT + KETTLE_HALF_HEIGHT)
KETTLE_YAW = 1.57
BUCKET_POS = (0.0, -0.3, 0.5)
POUR_DISTANCE = 0.05  # success threshold
NEAR = 0.7  # both fingersums below this switch the pouring term on
DROP_HEIGHT = 0.2  # reset when the bucket point falls to this height


@dataclass(frozen=True)
class KettleTask(TaskConfig):
    def add_task_state(self, state, bodies, joint_pos, joint_vel) -> None:
        set_object_state(state, bodies["kettle"])
        state["kettle_handle_pos"] = link_point(bodies["kettle"], KETTLE_HANDLE_POINT)
        state["kettle_spout_pos"] = link_point(bodies["kettle"], KETTLE_SPOUT_POINT)
        state["bucket_handle_pos"] = link_point(bodies["bucket"], BUCKET_POINT)
        state["bucket_pos"] = bodies["bucket"]["pos"]
        state["bucket_rot"] = bodies["bucket"]["rot"]
        state["object_dof_pos"] = joint_pos
        state["object_dof_vel"] = joint_vel

    def observation_block(self, state) -> list[torch.Tensor]:
        return [state["object_pose"], state["object_linvel"], VEL_OBS_SCALE * state["object_angvel"],
                state["kettle_handle_pos"], state["bucket_handle_pos"]]

    def compute_reward(self, state):
        right = fingertip_distance_sum(state, "right", state["kettle_handle_pos"])
        left = fingertip_distance_sum(state, "left", state["bucket_handle_pos"])
        pour = torch.norm(state["bucket_handle_pos"] - state["kettle_spout_pos"], dim=-1)
        near = (right < NEAR) & (left < NEAR)
        reward = 1.0 - right - left + near * (0.5 - 2.0 * pour)
        terminate = state["bucket_handle_pos"][:, 2] <= DROP_HEIGHT
        return reward, pour < POUR_DISTANCE, terminate

    def state_meanings(self) -> dict[str, str]:
        return {
            "object_pos": "kettle body centre, world frame, m",
            "object_rot": "kettle orientation quaternion (x, y, z, w); its local +x axis points from the spout to the "
            "handle, +z up out of the lid (at the start the spout points to -y)",
            "object_pose": "object_pos and object_rot concatenated",
            "object_linvel": "kettle linear velocity, world frame, m/s",
            "object_angvel": "kettle angular velocity, world frame, rad/s",
            "kettle_handle_pos": "handle point inside the kettle's handle loop, just in front of its vertical grip "
            "bar (kettle + 0.15 m along its local x), for the right hand, world frame, m",
            "kettle_spout_pos": "mouth of the kettle's spout (kettle - 0.2 m along local x + 0.07 m along local z), "
            "world frame, m",
            "bucket_handle_pos": "centre of the bucket's bottom (the bucket is 0.10 m deep, opening up), for the left "
            "hand, world frame, m",
            "bucket_pos": "centre of the bucket's rim (its opening), world frame, m",
            "bucket_rot": "bucket orientation quaternion (x, y, z, w)",
            "object_dof_pos": "kettle lid slide: 0 closed ... 0.032 m lifted, m",
            "object_dof_vel": "kettle lid slide velocity, m/s",
        }


KETTLE = KettleTask(
    name="ShadowHandKettle",
    layout=SceneLayout(
        right=HandPose((0.55, 0.2, 0.6), (PI, 1.57, 1.57)),
        left=HandPose((0.55, -0.2, 0.6), (PI, -1.57, 1.57)),
        free_base=True,
        object_starts=(),
        goal_starts=(),
        props=(partial(add_table, size=(0.5, 1.0, TABLE_HEIGHT)), partial(add_kettle, pos=KETTLE_POS, yaw=KETTLE_YAW),
               partial(add_rim_bucket, pos=BUCKET_POS), partial(add_water, kettle_pos=KETTLE_POS)),
        tracked_bodies=("kettle", "bucket"),
        tracked_joints=("kettle_lid_slide",),
        camera=((-0.75, -0.55, 1.0), (0.514, -0.857, 0, 0.426, 0.255, 0.868)),
    ),
    episode_length=125,
    dist_reward_scale=0.0,  # unused by this reward
    transition_scale=0.5,
    orientation_scale=0.1,
    declared_obs_dim=417,
    object_dof_start=(0.0,),
    description="Two free-moving hands, palms facing each other, fingers pointing at a table; on it stand a kettle "
    "holding 30 small balls of 'water' (handle towards the right hand, y > 0, spout towards -y) and, beyond the spout, "
    "an open bucket in front of the left hand; the hands must lift and tilt the kettle so that its spout reaches "
    "into the bucket, down to the centre of the bucket's bottom.",
)
