"""ShadowHandLiftUnderarm: two palms-up hands lift a lidded pot by its side handles 0.4 m off a small table.

Pot (`dexhands.kitchen_props.add_pot`: a 0.24 m wide, 0.115 m tall body, two side handles, a lid sliding up 0-0.06 m;
body 3 kg, lid 1 kg) free on a 0.3 × 0.3 × 0.4 m table at (0, -0.6); its handles stick out over the table's edges
towards the hands. Hands as in the original, palms up, fingers towards the pot: right (0, 0.05, 0.45), left
(0, -1.25, 0.45) turned by π about z. Keypoints (the original's): `pot_right_handle_pos` = pot + 0.15 local y + 0.06
local z (on the handle towards the right hand), `pot_left_handle_pos` the same with -0.15. Goal: `goal_pos` =
(0, -0.6, 0.85), the original's pot spawn point + 0.4 m.

Reward (Bi-DexHands code): 0.2 - d_R - d_L + [d_R < 0.08 and d_L < 0.08]·3·(0.385 - d_goal), d_R / d_L = distance from
a hand's palm point (`right_hand_pos`, palm link + 0.08 local z - 0.02 local y) to its handle, d_goal = ‖pot - goal‖.
The code uses 0.385 (the documentation and paper write 0.985); we follow the code. Success: d_goal < 0.05 (latched).
Reset: pot z ≤ 0.3, or d_R or d_L ≥ 0.2 (0.145 at the start); 500 steps. Observation: 398 hand dims + pot pose 7,
linear velocity 3, angular velocity ×0.2 3 + right and left handle positions 3 + 3 = 417, as the original.

Deviations: primitive shapes instead of the PartNet meshes (see `kitchen_props`), with the handle rods 0.11 m apart
instead of 0.057 m so that four fingers fit between them; the pot rests on the table (root at 0.465 m; the original
spawns it at 0.45 with its bottom 1.5 cm inside the table, and PhysX pushes it up), so d_goal starts at 0.385;
masses from the original URDF's inertial elements (3 kg + 1 kg) with inertia from our shapes (the URDF's 0.4 /
0.4 / 0.2 kg·m² are placeholders). As in the original yaml, no reset noise on the hand joints.
A scripted lift succeeds (`test_dexhands_lift_underarm.py`): both palms slide under the grip bars with the fingers
raised between bar and pot, curl the fingers over the bars, and rise 0.4 m. The wrist's flexion actuator (±2.175 N·m)
can only carry the pot's 20 N per hand close to the palm: resting on straight fingers, the wrist gives way.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch

from dexhands.kitchen_props import POT_KEYPOINTS, add_pot
from dexhands.props import add_table
from dexhands.scene import HandPose, SceneLayout
from dexhands.tasks.base import VEL_OBS_SCALE, TaskConfig
from dexhands.tasks.common import PI, link_point, set_object_state

POT_POS = (0.0, -0.6, 0.465)  # resting on the table (bottom 0.065 m below the pot frame)
GOAL_POS = (0.0, -0.6, 0.85)  # the original's spawn (0, -0.6, 0.45) + 0.4 m
GOAL_DISTANCE = 0.05  # success threshold
HOLD_DISTANCE = 0.08  # both palms this close to their handles unlock the lift term
LEAVE_DISTANCE = 0.2  # a palm this far from its handle ends the episode


def _table(spec) -> None:
    add_table(spec, size=(0.3, 0.3, 0.4), centre_xy=(0.0, -0.6))


def _const(value, like: torch.Tensor) -> torch.Tensor:
    return torch.tensor(value, dtype=like.dtype, device=like.device).expand(like.shape[0], len(value)).clone()


@dataclass(frozen=True)
class LiftUnderarmTask(TaskConfig):
    def add_task_state(self, state, bodies, joint_pos, joint_vel) -> None:
        set_object_state(state, bodies["pot"])
        state["pot_right_handle_pos"] = link_point(bodies["pot"], POT_KEYPOINTS["right"])
        state["pot_left_handle_pos"] = link_point(bodies["pot"], POT_KEYPOINTS["left"])
        state["goal_pos"] = _const(GOAL_POS, state["object_pos"])
        state["goal_rot"] = _const((0.0, 0.0, 0.0, 1.0), state["object_pos"])
        state["goal_pose"] = torch.cat([state["goal_pos"], state["goal_rot"]], -1)
        state["object_dof_pos"] = joint_pos
        state["object_dof_vel"] = joint_vel

    def observation_block(self, state) -> list[torch.Tensor]:
        return [state["object_pose"], state["object_linvel"], VEL_OBS_SCALE * state["object_angvel"],
                state["pot_right_handle_pos"], state["pot_left_handle_pos"]]

    def compute_reward(self, state):
        right = torch.norm(state["pot_right_handle_pos"] - state["right_hand_pos"], dim=-1)
        left = torch.norm(state["pot_left_handle_pos"] - state["left_hand_pos"], dim=-1)
        goal = torch.norm(state["goal_pos"] - state["object_pos"], dim=-1)
        holding = (right < HOLD_DISTANCE) & (left < HOLD_DISTANCE)
        reward = 0.2 - right - left + holding * 3.0 * (0.385 - goal)
        terminate = (state["object_pos"][:, 2] <= 0.3) | (right >= LEAVE_DISTANCE) | (left >= LEAVE_DISTANCE)
        return reward, goal < GOAL_DISTANCE, terminate

    def state_meanings(self) -> dict[str, str]:
        return {
            "object_pos": "pot frame origin (on its axis, 0.065 m above its bottom), world frame, m",
            "object_rot": "pot orientation quaternion (x, y, z, w); its handles lie along its local ±y axis",
            "object_pose": "object_pos and object_rot concatenated",
            "object_linvel": "pot linear velocity, world frame, m/s",
            "object_angvel": "pot angular velocity, world frame, rad/s",
            "pot_right_handle_pos": "point on the pot's handle towards the right hand (pot + 0.15 m local y + 0.06 m "
            "local z), world frame, m",
            "pot_left_handle_pos": "point on the pot's handle towards the left hand (pot - 0.15 m local y + 0.06 m "
            "local z), world frame, m",
            "goal_pos": "where the pot must be lifted: (0, -0.6, 0.85), 0.385 m above its start, world frame, m",
            "goal_rot": "goal orientation quaternion (x, y, z, w): identity, unused by the task",
            "goal_pose": "goal_pos and goal_rot concatenated",
            "object_dof_pos": "lid joint (N, 1): slide upwards off the pot, 0 (closed) ... 0.06 m",
            "object_dof_vel": "lid joint velocity, m/s",
        }


LIFT_UNDERARM = LiftUnderarmTask(
    name="ShadowHandLiftUnderarm",
    layout=SceneLayout(
        right=HandPose((0.0, 0.05, 0.45)),
        left=HandPose((0.0, -1.25, 0.45), (0.0, 0.0, PI)),
        free_base=True,
        hand_contacts=True,  # Isaac Gym collision filter 0
        object_starts=(),
        goal_starts=(),
        props=(_table, partial(add_pot, pos=POT_POS)),
        tracked_bodies=("pot",),
        tracked_joints=("pot_lid_slide",),
        camera=((0.95, -0.6, 0.85), (0, 1, 0, -0.36, 0, 0.93)),
    ),
    episode_length=500,
    dist_reward_scale=0.0,  # unused by this reward
    transition_scale=0.25,
    orientation_scale=1.0,
    reset_dof_pos_noise=0.0,
    declared_obs_dim=417,
    object_dof_start=(0.0,),
    description="Two free-moving hands, palms up, fingers pointing at each other along y, at the height of a small "
    "table between them; a 4 kg pot with a lid stands on the table, its two side handles sticking out over the "
    "table's edges towards the hands; the hands must get under the handles and lift the pot 0.385 m straight up "
    "to a goal point above the table.",
)
