"""The four door tasks: open or close a double door, one hand on each leaf's handle.

One primitive double door (`dexhands.props.add_door`) at (0, 0, 0.7) with a bar pull handle on both faces of each
leaf; Outward tasks place it as is (its leaves swing away from the hands, which stand on its +x side), Inward tasks
turn it by Isaac euler (0, π, 0), so the leaves swing towards the hands. Keypoints ("handles") are each leaf's
handle point on the face towards the hands (the original flips the sign of its 0.04 local-z offset between the
Inward and Outward task files to get this); y_R, y_L their y coordinates; fingersum as in the other manipulation
tasks.

| task | start | reward | success | reset |
|---|---|---|---|---|
| DoorOpenInward / Outward | closed | 2 - f_R - f_L + [f_R, f_L < 0.5]·2·\\|y_R - y_L\\| | \\|Δy\\| > 0.5 | f ≥ 1.5 |
| DoorCloseInward | open (π/2) | 2 - f_R - f_L + [both < 0.5]·(1 - 2\\|Δy\\|) | \\|Δy\\| < 0.5 | f ≥ 1.5 |
| DoorCloseOutward | open (π/2) | 6 - f_R - f_L + [both < 0.5]·(1 - 2\\|Δy\\|) | \\|Δy\\| < 0.5 | f ≥ 3 |

Quirk kept: the close tasks also set the hinge *velocity* to 1.57 rad/s at reset (the original writes the
start position into the velocity buffer too); at the open limit this only pushes the leaves into their stop.
Geometry check (`test_dexhands_doors.py`): |Δy| = 0.067 closed in both orientations, 0.927 fully open inward and
0.767 outward (reference measurement: 0.067, 0.93, 0.77): the keypoint sits 0.04 m out on the hands' face, which
at 90° lies 0.04 m beyond the hinge line, away from the centre (inward), or 0.04 m short of it (outward).

Handles, changed after DoorOpenInward proved unsolvable: the door used to have one knob per leaf, on the door's +x
face, and the same keypoints for both orientations, so the Inward keypoints sat behind the 0.04 m leaves (the knobs
on the far side, 4 mm between the closed leaves): the hands could only push the leaves shut, and reaching over a
leaf to the knob costs a fingersum above the 1.5 reset. The original's PartNet door has four "Door Handle Fixed
Part" meshes, one per face of each leaf (vertical bars 0.15 m long, 0.036 m off the glass), and its Inward files
use +0.04 local z where the Outward files use -0.04, i.e. the handle on the hands' side in all four tasks (this
also explains the reference's different open gaps, 0.93 vs 0.77, which one keypoint per leaf could not give). So
each leaf now has a bar pull handle on both faces and the Inward keypoints are on the -x face of the door frame.
Scripted solvability checks (`test_dexhands_doors.py`): OpenOutward and CloseInward by pushing the leaves near the
handles; CloseOutward by pushing the open leaves' outer faces from beside the frame; OpenInward by hooking the four
fingers round the bars and pulling them along the leaves' swing while the hands turn with the leaves (success at
step 184 of 250, |Δy| 0.50 at 1.0 rad, fingersums 0.19-0.20).
Door hinges: no drive (the original's drive mode is NONE), damping 0.1.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch

from dexhands.props import DOOR_KEYPOINTS, add_door
from dexhands.rotations import isaac_euler_to_wxyz
from dexhands.scene import HandPose, SceneLayout
from dexhands.tasks.base import VEL_OBS_SCALE, TaskConfig
from dexhands.tasks.common import PI, fingertip_distance_sum, link_point, set_object_state

DOOR_POS = (0.0, 0.0, 0.7)
OPEN = 1.57


@dataclass(frozen=True)
class DoorTask(TaskConfig):
    close: bool = False  # close tasks: reward and success for bringing the handles together
    inward: bool = False  # door turned about y: the keypoints are on the leaves' other face (towards the hands)
    reward_offset: float = 2.0
    reset_fingersum: float = 1.5

    def add_task_state(self, state, bodies, joint_pos, joint_vel) -> None:
        set_object_state(state, bodies["door"])
        for side in ("right", "left"):
            x, y, z = DOOR_KEYPOINTS[side]
            state[f"door_{side}_handle_pos"] = link_point(bodies[f"door_{side}_leaf"], (-x if self.inward else x, y, z))
        state["object_dof_pos"] = joint_pos
        state["object_dof_vel"] = joint_vel

    def observation_block(self, state) -> list[torch.Tensor]:
        return [state["object_pose"], state["object_linvel"], VEL_OBS_SCALE * state["object_angvel"],
                state["door_left_handle_pos"], state["door_right_handle_pos"]]

    def compute_reward(self, state):
        right = fingertip_distance_sum(state, "right", state["door_right_handle_pos"])
        left = fingertip_distance_sum(state, "left", state["door_left_handle_pos"])
        gap = (state["door_right_handle_pos"][:, 1] - state["door_left_handle_pos"][:, 1]).abs()
        near = (right < 0.5) & (left < 0.5)
        term = (1.0 - 2.0 * gap) if self.close else 2.0 * gap
        reward = self.reward_offset - right - left + near * term
        success = gap < 0.5 if self.close else gap > 0.5
        terminate = (right >= self.reset_fingersum) | (left >= self.reset_fingersum)
        return reward, success, terminate

    def state_meanings(self) -> dict[str, str]:
        return {
            "object_pos": "door frame origin (fixed; the door centre), world frame, m",
            "object_rot": "door frame orientation quaternion (x, y, z, w) (fixed)",
            "object_pose": "object_pos and object_rot concatenated",
            "object_linvel": "door frame linear velocity (always zero: the frame is fixed)",
            "object_angvel": "door frame angular velocity (always zero)",
            "door_right_handle_pos": "handle point of the right door leaf (y > 0), for the right hand, world frame, m",
            "door_left_handle_pos": "handle point of the left door leaf (y < 0), for the left hand, world frame, m",
            "object_dof_pos": "leaf hinge angles (right leaf, left leaf), 0 = closed, 1.57 = fully open, rad",
            "object_dof_vel": "leaf hinge angular velocities (right, left), rad/s",
        }


def _door_layout(inward: bool, hand_xy: tuple[float, float]) -> SceneLayout:
    quat = isaac_euler_to_wxyz(0.0, PI, 0.0) if inward else isaac_euler_to_wxyz(0.0, 0.0, 0.0)
    x, y = hand_xy
    return SceneLayout(
        right=HandPose((x, y, 0.6), (PI, 1.57, 1.57)),
        left=HandPose((x, -y, 0.6), (PI, -1.57, 1.57)),
        free_base=True,
        hand_contacts=True,  # Isaac Gym collision filter 0
        object_starts=(),
        goal_starts=(),
        props=(partial(add_door, pos=DOOR_POS, quat=list(quat)),),
        tracked_bodies=("door", "door_right_leaf", "door_left_leaf"),
        tracked_joints=("door_right_hinge", "door_left_hinge"),
        camera=((1.9, -1.2, 1.5), (0.53, 0.85, 0, -0.3, 0.19, 0.935)),
    )


def _door_task(name: str, inward: bool, close: bool, hand_xy=(0.55, 0.2), **kwargs) -> DoorTask:
    verb = "close" if close else "open"
    swing = "towards the hands" if inward else "away from the hands"
    return DoorTask(
        name=name,
        layout=_door_layout(inward, hand_xy),
        episode_length=250,
        dist_reward_scale=0.0,  # unused by this reward
        transition_scale=0.5,
        orientation_scale=0.5,
        declared_obs_dim=417,
        object_dof_start=(OPEN, OPEN) if close else (0.0, 0.0),
        object_dof_start_vel=(OPEN, OPEN) if close else (),
        close=close,
        inward=inward,
        description=f"Two free-moving hands, palms facing each other, fingers pointing at a double door whose leaves "
        f"swing {swing}; the door starts {'open' if close else 'closed'} and the hands, one on each leaf's handle, "
        f"must {verb} it.",
        **kwargs,
    )


DOOR_TASKS = (
    _door_task("ShadowHandDoorOpenInward", inward=True, close=False),
    _door_task("ShadowHandDoorOpenOutward", inward=False, close=False),
    _door_task("ShadowHandDoorCloseInward", inward=True, close=True, hand_xy=(0.9, 0.5)),
    _door_task("ShadowHandDoorCloseOutward", inward=False, close=True, reward_offset=6.0, reset_fingersum=3.0),
)
