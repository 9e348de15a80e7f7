"""Task objects re-modelled from primitives (boxes): tables, the switch, the double door.

Each builder adds bodies to the scene spec. The originals are PartNet-Mobility meshes; here only their
reference dimensions, joint ranges and placements are kept, with link frames
chosen so that the Bi-DexHands keypoint offsets keep their meaning (a point on the part a hand must push).
"""

from __future__ import annotations

import math

import mujoco

BOX = mujoco.mjtGeom.mjGEOM_BOX
# EXCLUDED: a fixed body and the part hinged on it never touch. MuJoCo's parent-child contact filter does not
# apply to bodies welded to the world, and the joint limits already model the mechanism's stops.
TABLE_RGBA = [0.55, 0.45, 0.35, 1.0]

# Switch (PartNet 102872): 0.16 × 0.10 × 0.15 m, one hinge "toggle_button" of 0-0.5585 rad about world -y.
SWITCH_RANGE = 0.5585
SWITCH_SIZE = (0.16, 0.10, 0.15)
SWITCH_HINGE_HEIGHT = 0.047  # hinge axis above the switch origin (see `dexhands.tasks.switch` for why)
SWITCH_KEYPOINT = (-0.05, -0.02, 0.0)  # Bi-DexHands' offset in the toggle link frame
SWITCH_ROCKER_THICKNESS = 0.02
# MuJoCo's joint limits are soft, with a stiffness proportional to the joint's inertia: the bare plate
# (3e-4 kg·m²) is pushed through its limit by a hand. A rotor inertia makes the limit hold (see the tests).
SWITCH_ARMATURE = 0.05


def add_table(spec: mujoco.MjSpec, size: tuple[float, float, float], centre_xy=(0.0, 0.0)) -> None:
    """A static box of full size `size` standing on the floor (Bi-DexHands places tables at half their height)."""
    spec.worldbody.add_geom(name="table", type=BOX, size=[s / 2 for s in size], rgba=TABLE_RGBA,
                       pos=[centre_xy[0], centre_xy[1], size[2] / 2])


def _axis_angle_quat(axis: tuple[float, float, float], angle: float) -> list[float]:
    s = math.sin(angle / 2)
    return [math.cos(angle / 2), axis[0] * s, axis[1] * s, axis[2] * s]


def add_switch(spec: mujoco.MjSpec, name: str, pos: tuple[float, float, float]) -> None:
    """A rocker switch: a fixed housing `name` and a toggle link `{name}_toggle` hinged on top of it.

    The toggle is a 0.16 m plate rotating about world -y through its centre. At the lower limit (0, the reset
    state) its -x end, where the keypoint lies, is raised by half the range; pressing that end down drives
    the hinge to the upper limit. The plate's centre of mass is on the axis, so gravity does not move it.
    """
    length, width, height = SWITCH_SIZE
    base = spec.worldbody.add_body(name=name, pos=list(pos))
    bottom = -height / 2
    housing_top = SWITCH_HINGE_HEIGHT - 0.035  # below the plate's pressed end: the joint limit is the only stop
    base.add_geom(type=BOX, size=[length / 2, width / 2, (housing_top - bottom) / 2],
                  pos=[0, 0, (housing_top + bottom) / 2], rgba=[0.85, 0.85, 0.82, 1])
    # Toggle frame: x along the plate, y along the hinge; tilted so that the -x end is up at joint angle 0.
    toggle = base.add_body(name=f"{name}_toggle", pos=[0, 0, SWITCH_HINGE_HEIGHT],
                           quat=_axis_angle_quat((0.0, 1.0, 0.0), SWITCH_RANGE / 2))
    toggle.add_joint(name=f"{name}_hinge", type=mujoco.mjtJoint.mjJNT_HINGE, axis=[0, -1, 0],
                     range=[0.0, SWITCH_RANGE], limited=mujoco.mjtLimited.mjLIMITED_TRUE, damping=0.05,
                     armature=SWITCH_ARMATURE)
    toggle.add_geom(type=BOX, size=[length / 2, width / 2 - 0.005, SWITCH_ROCKER_THICKNESS / 2], density=500,
                    rgba=[0.9, 0.3, 0.2, 1])
    spec.add_exclude(bodyname1=name, bodyname2=f"{name}_toggle")  # see EXCLUDED


# Double door (PartNet, used by the four door tasks): frame plus two leaves on vertical hinges of 0-π/2, each leaf with
# a pull handle on both faces, as the PartNet door has (per leaf one "Door Handle Fixed Part" mesh on each face: a
# vertical bar 0.15 m long standing 0.036 m off the 0.017 m glass, near the leaf's free edge). The hinge lines sit
# 0.4235 m from the centre: with the keypoints 0.39 m from them the handles are 0.067 m apart closed (the reference's
# measurement), so the door is 0.93 m wide. The reference's other extent, 1.76 m, can be neither the width (the
# handles would then open far wider than measured) nor the height (the leaves would cross the floor from a centre at
# 0.7 m and jam there), so the door is 0.93 m tall, 0.18 m deep. In the door's own frame both leaves swing towards -x
# when opened.
DOOR_SIZE = (0.18, 0.93, 0.93)
DOOR_HINGE_Y = 0.4235
DOOR_LEAF_THICKNESS = 0.04
DOOR_LEAF_FRAME_Z = 0.5  # leaf frame origin on the hinge line, 0.5 m above the door centre
# Keypoint in the leaf frame (door-aligned at angle 0): the original's (∓0.39 local x, -0.5 local y, ±0.04 local z)
# with its PartNet y-up leaf axes renamed to the door's: 0.39 m across the leaf, 0.5 m down, 0.04 m out of the leaf's
# centre plane on the +x face, inside the grip of that face's handle. The original picks the face by the sign of the
# 0.04: the face towards the hands in every task, so the Inward tasks (door turned about y) use -x (`doors.py`).
DOOR_KEYPOINTS = {"right": (0.04, -0.39, -0.5), "left": (0.04, 0.39, -0.5)}
DOOR_RANGE = 1.5708
# Pull handle (one per face): a bar of radius 0.008 m, 0.06 m from the leaf's centre plane, on two standoffs 0.135 m
# apart, so a finger (≈0.017 m thick) fits in the 0.032 m between bar and leaf face and can hook round the bar.
DOOR_HANDLE_BAR_X = 0.06
DOOR_HANDLE_RADIUS = 0.008
DOOR_HANDLE_HALF_SPAN = 0.0675


def add_door(spec: mujoco.MjSpec, pos: tuple[float, float, float], quat: list[float]) -> None:
    """Fixed frame `door` (two posts and a lintel) and leaves `door_right_leaf` (y > 0), `door_left_leaf`."""
    depth, width, height = DOOR_SIZE
    door = spec.worldbody.add_body(name="door", pos=list(pos), quat=list(quat))
    post = (width / 2 - DOOR_HINGE_Y) / 2
    frame_rgba = [0.45, 0.3, 0.2, 1]
    for side in (1, -1):
        door.add_geom(type=BOX, size=[depth / 2, post, height / 2], pos=[0, side * (DOOR_HINGE_Y + post), 0],
                      rgba=frame_rgba)
    door.add_geom(type=BOX, size=[depth / 2, DOOR_HINGE_Y, 0.04], pos=[0, 0, height / 2 - 0.04], rgba=frame_rgba)
    leaf_height = height - 0.1
    for side, sign in (("right", 1), ("left", -1)):
        leaf = door.add_body(name=f"door_{side}_leaf", pos=[0, sign * DOOR_HINGE_Y, DOOR_LEAF_FRAME_Z])
        leaf.gravcomp = 1.0  # the original disables gravity on the door
        # Right leaf: hinge axis -z turns its free edge (towards -y) to -x; the left leaf mirrors it.
        leaf.add_joint(name=f"door_{side}_hinge", type=mujoco.mjtJoint.mjJNT_HINGE, axis=[0, 0, -sign],
                       range=[0.0, DOOR_RANGE], limited=mujoco.mjtLimited.mjLIMITED_TRUE, damping=0.1,
                       armature=0.01)
        half_width = DOOR_HINGE_Y / 2 - 0.002
        leaf.add_geom(type=BOX, size=[DOOR_LEAF_THICKNESS / 2, half_width, leaf_height / 2], density=300,
                      pos=[0, -sign * (half_width + 0.002), -DOOR_LEAF_FRAME_Z - 0.04], rgba=[0.8, 0.65, 0.45, 1])
        _add_pull_handles(leaf, DOOR_KEYPOINTS[side])
        spec.add_exclude(bodyname1="door", bodyname2=f"door_{side}_leaf")  # see EXCLUDED


def _add_pull_handles(leaf: mujoco.MjsBody, keypoint: tuple[float, float, float]) -> None:
    """A bar on two standoffs on each face of the leaf, centred (y, z) on the keypoint."""
    _, y, z = keypoint
    face = DOOR_LEAF_THICKNESS / 2
    metal = [0.7, 0.7, 0.72, 1]
    for out in (1, -1):
        bar_x = out * DOOR_HANDLE_BAR_X
        leaf.add_geom(type=mujoco.mjtGeom.mjGEOM_CAPSULE, size=[DOOR_HANDLE_RADIUS, 0, 0], rgba=metal,
                      fromto=[bar_x, y, z - DOOR_HANDLE_HALF_SPAN, bar_x, y, z + DOOR_HANDLE_HALF_SPAN])
        standoff = (DOOR_HANDLE_BAR_X - face) / 2
        for end in (1, -1):
            leaf.add_geom(type=BOX, size=[standoff, DOOR_HANDLE_RADIUS, DOOR_HANDLE_RADIUS], rgba=metal,
                          pos=[out * (face + standoff), y, z + end * DOOR_HANDLE_HALF_SPAN])
