"""ShadowHandSwitch ("Turn Button"): both hands press down a switch each, palms down over a table.

Reward (Bi-DexHands): 2 - fingersum_R - fingersum_L + 50·(1.4 - (z_R + z_L)), where z are the heights of the
switch keypoints (toggle link + (-0.05 local x, -0.02 local y)) and fingersum the summed distance of a hand's
five fingertip points to its switch's keypoint. No early termination; 125 steps.

Success. The original criterion 1.4 - (z_R + z_L) > 0.05 cannot be met with the original geometry (reference
§7.1: keypoint height 0.6917 m at the lower joint limit, 0.7023 m at the upper). It cannot be met here either.
Our toggle is a 0.16 m rocker hinged through its centre, the keypoint on the arm that goes down when pressed,
which gives the keypoint the most vertical travel a 5 cm lever can have over the 0.5585 rad range
(2·0.05·sin(0.2793) = 2.76 cm per switch, 2.6 times the original's 1.06 cm). With the hinge axis at the middle
of the original keypoint band (0.697 m) the keypoint height, measured in the compiled model, is
0.7108 m unpressed (joint 0) and 0.6832 m fully pressed (joint 0.5585), so 1.4 - (z_R + z_L) lies in
[-0.0215, +0.0336]: the original threshold 0.05 is out of reach by 1.6 cm, as in Isaac Gym
(`test_dexhands_switch.py` re-measures this). It would need the hinge 8 mm lower than the original keypoints.

`info["success"]` therefore measures the task's intent: both switches pressed through at least 80 % of their
travel (both hinge angles ≥ 0.8 · 0.5585 = 0.4468 rad), latched for the episode. 80 % rather than 100 %:
MuJoCo's joint limit is soft (a pressed toggle rests a little short of or past 0.5585 rad depending on the
push, and springs back a little when released); 80 % still needs far more than a touch (a keypoint drop of
2.2 of the 2.76 cm), and a scripted press reaches it (`test_dexhands_switch.py`). The original criterion is logged as
`info["success_original"]` (latched the same way; it stays 0).

Deviations: the switches are modelled world-aligned (no PartNet frame, so no euler (π, 1.57, 0)); the
`object_*` state is the right switch's housing (the first switch actor's root in Bi-DexHands: fixed, so
zero velocity).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch

from dexhands.props import SWITCH_KEYPOINT, SWITCH_RANGE, add_switch, add_table
from dexhands.scene import SceneLayout
from dexhands.tasks.base import VEL_OBS_SCALE, TaskConfig
from dexhands.tasks.common import PALMS_DOWN_LEFT, PALMS_DOWN_RIGHT, fingertip_distance_sum, link_point, set_object_state

SWITCH_POS = {"right": (0.0, 0.2, 0.65), "left": (0.0, -0.2, 0.65)}
PRESSED_FRACTION = 0.8  # success: both hinges at or beyond this fraction of their range


@dataclass(frozen=True)
class SwitchTask(TaskConfig):
    def add_task_state(self, state, bodies, joint_pos, joint_vel) -> None:
        set_object_state(state, bodies["switch_right"])
        for side in ("right", "left"):
            state[f"switch_{side}_handle_pos"] = link_point(bodies[f"switch_{side}_toggle"], SWITCH_KEYPOINT)
        state["object_dof_pos"] = joint_pos
        state["object_dof_vel"] = joint_vel

    def observation_block(self, state) -> list[torch.Tensor]:
        # The original writes the left switch's keypoint before the right one's.
        return [state["object_pose"], state["object_linvel"], VEL_OBS_SCALE * state["object_angvel"],
                state["switch_left_handle_pos"], state["switch_right_handle_pos"]]

    def compute_reward(self, state):
        right = fingertip_distance_sum(state, "right", state["switch_right_handle_pos"])
        left = fingertip_distance_sum(state, "left", state["switch_left_handle_pos"])
        up = 50.0 * (1.4 - (state["switch_right_handle_pos"][:, 2] + state["switch_left_handle_pos"][:, 2]))
        reward = 2.0 - right - left + up
        success = (state["object_dof_pos"] >= PRESSED_FRACTION * SWITCH_RANGE).all(-1)
        return reward, success, torch.zeros_like(success)

    def extra_success(self, state):
        heights = state["switch_right_handle_pos"][:, 2] + state["switch_left_handle_pos"][:, 2]
        return {"success_original": 1.4 - heights > 0.05}

    def state_meanings(self) -> dict[str, str]:
        return {
            "object_pos": "right switch housing origin (fixed), world frame, m",
            "object_rot": "right switch housing orientation quaternion (x, y, z, w) (fixed)",
            "object_pose": "object_pos and object_rot concatenated",
            "object_linvel": "right switch housing linear velocity (always zero: the switch is fixed)",
            "object_angvel": "right switch housing angular velocity (always zero)",
            "switch_right_handle_pos": "point on the right switch's toggle that the right hand must press down "
            "(about 0.71 m high unpressed, 0.68 m fully pressed), world frame, m",
            "switch_left_handle_pos": "the same point on the left switch's toggle, for the left hand, world, m",
            "object_dof_pos": "toggle hinge angles (right switch, left switch), 0 = unpressed, 0.5585 = fully pressed, rad",
            "object_dof_vel": "toggle hinge angular velocities (right, left), rad/s",
        }


SWITCH = SwitchTask(
    name="ShadowHandSwitch",
    layout=SceneLayout(
        right=PALMS_DOWN_RIGHT,
        left=PALMS_DOWN_LEFT,
        free_base=True,
        hand_contacts=True,  # Isaac Gym collision filter 0
        object_starts=(),
        goal_starts=(),
        props=(partial(add_table, size=(0.5, 1.0, 0.55)),
               partial(add_switch, name="switch_right", pos=SWITCH_POS["right"]),
               partial(add_switch, name="switch_left", pos=SWITCH_POS["left"])),
        tracked_bodies=("switch_right", "switch_right_toggle", "switch_left_toggle"),
        tracked_joints=("switch_right_hinge", "switch_left_hinge"),
        camera=((-0.75, 0.0, 1.25), (0, -1, 0, 0.55, 0, 0.835)),  # facing the fingertips
    ),
    episode_length=125,
    dist_reward_scale=0.0,  # unused by this reward
    transition_scale=0.5,
    orientation_scale=0.1,
    declared_obs_dim=417,
    object_dof_start=(0.0, 0.0),
    extra_success_names=("success_original",),
    description="Two free-moving hands, palms down above a table, fingers pointing away from the viewer; each hand "
    "must press down the toggle of the rocker switch below it (right hand: switch at y = +0.2, left hand: y = -0.2).",
)

ARTICULATED_TASKS = (SWITCH,)
