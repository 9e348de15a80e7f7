"""ShadowHandBottleCap: the left hand holds a tilted bottle in its palm, the right hand takes the cap off.

Bottle (`dexhands.container_props.add_bottle`, cylinders, 0.21 m tall): free, under gravity, its frame origin at
(0, -0.6, 0.5) and its axis tilted by Isaac euler (0, -0.7, 0), above a 0.3 × 0.3 × 0.1 m table at (0, -0.6). The
cap slides 0-0.064 m along the bottle's axis and turns freely about it (the original's prismatic and continuous
joints), held on by joint friction. Hands as in the original: "right" (0, -1.05, 0.5) euler (0.5, π, π), above the
cap, fingers towards +y; "left" (0, -0.25, 0.45) euler (0, 0.87, 0), palm up and rolled, under the bottle.
Keypoints: `bottle_pos` = the bottle's frame origin (offsets 0 in the original), `bottle_cap_pos` = bottle + 0.15
local z (the top of our cap), `bottle_cap_up` = the cap link's frame origin (equal to the bottle's while capped).

Reward (Bi-DexHands): 2 - f_R - d_L + [f_R ≤ 0.3]·30·‖cap_up - bottle‖, with f_R the right fingersum to the cap point
and d_L the left palm point's distance to the bottle. Success: ‖cap_up - bottle‖ > 0.03 (the cap slid 3 cm off;
latched). Reset: cap point z ≤ 0.5 (the bottle dropped), the right palm point ≥ 0.5 m from the cap point, or the
left palm point ≥ 0.2 m from the bottle; 125 steps. Observation: 398 + bottle pose 7, linear velocity 3, angular
velocity ×0.2 3 + bottle, cap point and cap link positions 3 + 3 + 3 = 420, as the original.

Deviations: the bottle's frame origin is on its axis 0.06 m above its bottom (our choice: the original's 0.15 m
cap point is then the cap's top, and the bottle's centre of mass lies over the holding palm); the cap's friction (0.3 N on the slide, 0.002 N·m on the hinge) is ours (the original's drive is
not documented in the reference); the bottle is hollow (density 100 kg/m³ over its solid cylinders, 0.043 kg).
Solvability: the bottle lies across the rolled left palm and rolls out within ~25 steps unless the hands act (a
scripted pinch-and-pull with flexed left fingers did not get there). `benchmark/bottle_cap_demo.py` finds, by a
cross-entropy search over 5 keyframes of the 52-D action (10 iterations × 128 samples from seed 0's reset state), a
sequence in which the left hand grips the bottle and the right hand pinches the cap and slides it 3.3 cm along the
axis by step 36 (6.4 cm, the slide's end, by step 53), the bottle held within 5.1 cm of its start and the hands never
more than 5 mm into each other until then; the episode then runs to its time-out without a reset.
`tests/test_dexhands_bottle_cap.py` replays it from reset. It was found before the hands collided with each other
in this task (`hand_contacts`, as the original's collision filter 0); it still succeeds with the contacts, and a
new search (same command) now finds another sequence (cap off at step 87).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch

from dexhands.container_props import BOTTLE_CAP_POINT, add_bottle
from dexhands.props import add_table
from dexhands.rotations import isaac_euler_to_wxyz
from dexhands.scene import HandPose, SceneLayout
from dexhands.tasks.base import VEL_OBS_SCALE, TaskConfig
from dexhands.tasks.common import PI, fingertip_distance_sum, link_point, set_object_state

BOTTLE_POS = (0.0, -0.6, 0.5)
BOTTLE_EULER = (0.0, -0.7, 0.0)
OPEN_DISTANCE = 0.03  # success threshold


def _table(spec) -> None:
    add_table(spec, size=(0.3, 0.3, 0.1), centre_xy=(0.0, -0.6))


@dataclass(frozen=True)
class BottleCapTask(TaskConfig):
    def add_task_state(self, state, bodies, joint_pos, joint_vel) -> None:
        set_object_state(state, bodies["bottle"])
        state["bottle_pos"] = bodies["bottle"]["pos"]
        state["bottle_cap_pos"] = link_point(bodies["bottle"], BOTTLE_CAP_POINT)
        state["bottle_cap_up"] = bodies["bottle_cap_link"]["pos"]
        state["object_dof_pos"] = joint_pos
        state["object_dof_vel"] = joint_vel

    def observation_block(self, state) -> list[torch.Tensor]:
        return [state["object_pose"], state["object_linvel"], VEL_OBS_SCALE * state["object_angvel"],
                state["bottle_pos"], state["bottle_cap_pos"], state["bottle_cap_up"]]

    def compute_reward(self, state):
        right = fingertip_distance_sum(state, "right", state["bottle_cap_pos"])
        right_palm = torch.norm(state["bottle_cap_pos"] - state["right_hand_pos"], dim=-1)
        left_palm = torch.norm(state["bottle_pos"] - state["left_hand_pos"], dim=-1)
        opened = torch.norm(state["bottle_cap_up"] - state["bottle_pos"], dim=-1)
        reward = 2.0 - right - left_palm + (right <= 0.3) * 30.0 * opened
        terminate = (state["bottle_cap_pos"][:, 2] <= 0.5) | (right_palm >= 0.5) | (left_palm >= 0.2)
        return reward, opened > OPEN_DISTANCE, terminate

    def state_meanings(self) -> dict[str, str]:
        return {
            "object_pos": "bottle frame origin (on the bottle's axis, 0.06 m above its bottom), world frame, m",
            "object_rot": "bottle orientation quaternion (x, y, z, w); its local +z axis points from the bottom to "
            "the cap",
            "object_pose": "object_pos and object_rot concatenated",
            "object_linvel": "bottle linear velocity, world frame, m/s",
            "object_angvel": "bottle angular velocity, world frame, rad/s",
            "bottle_pos": "bottle frame origin (same as object_pos), world frame, m",
            "bottle_cap_pos": "point 0.15 m along the bottle's axis from its origin: the top of the closed cap, "
            "world frame, m",
            "bottle_cap_up": "the cap's frame origin: equals bottle_pos while capped and moves along the bottle's "
            "axis as the cap slides off, world frame, m",
            "object_dof_pos": "cap joints (N, 2): slide along the axis (0 capped ... 0.064 m off, the limit) and "
            "turn about the axis (rad, unlimited)",
            "object_dof_vel": "cap joint velocities (m/s, rad/s)",
        }


BOTTLE_CAP = BottleCapTask(
    name="ShadowHandBottleCap",
    layout=SceneLayout(
        right=HandPose((0.0, -1.05, 0.5), (0.5, PI, PI)),
        left=HandPose((0.0, -0.25, 0.45), (0.0, 1.57 - 0.7, 0.0)),
        free_base=True,
        hand_contacts=True,  # Isaac Gym collision filter 0
        object_starts=(),
        goal_starts=(),
        props=(_table, partial(add_bottle, pos=BOTTLE_POS, quat=list(isaac_euler_to_wxyz(*BOTTLE_EULER)))),
        tracked_bodies=("bottle", "bottle_cap_link"),
        tracked_joints=("bottle_cap_slide", "bottle_cap_hinge"),
        camera=((0.9, -0.6, 0.9), (0, 1, 0, -0.35, 0, 0.94)),
    ),
    episode_length=125,
    dist_reward_scale=0.0,  # unused by this reward
    transition_scale=0.1,
    orientation_scale=0.1,
    declared_obs_dim=420,
    object_dof_start=(0.0, 0.0),
    description="Two free-moving hands facing each other along y; the left hand (y > -0.6 side), palm up, holds a "
    "tilted capped bottle in its palm; the right hand hangs above the bottle's cap; the right hand must pull (or "
    "twist) the cap off the bottle while the left hand keeps holding the bottle.",
)
