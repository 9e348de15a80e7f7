"""Kitchenware re-modelled from primitives: the lidded pot (LiftUnderarm) and the two-handled mug (SwingCup).

Both are free bodies whose reset pose is the pose built here (MuJoCo's `qpos0`), each with a lid on a slide
joint. Sizes, joint ranges, masses and keypoint offsets follow the originals (PartNet meshes, measured from their
vertices after the URDF's scale and its y-up -> z-up turn; reference §3-§4); the part shapes are our own. MuJoCo's
parent-child contact filter keeps a lid from touching its body (the parent is a free body, not the world): the
slide's lower limit is where the lid rests.
"""

from __future__ import annotations

import mujoco

BOX = mujoco.mjtGeom.mjGEOM_BOX
CAPSULE = mujoco.mjtGeom.mjGEOM_CAPSULE
CYLINDER = mujoco.mjtGeom.mjGEOM_CYLINDER
METAL = [0.72, 0.72, 0.75, 1.0]

# Pot (PartNet KitchenPot ×0.2): a 0.24 m wide, 0.115 m tall body, a lid that slides up 0-0.06 m, and two side
# handles along the pot's ±y axis (the original's handle direction after its y-up -> z-up turn). Pot frame: the
# original's root, 0.065 m above the bottom, so that its keypoints (±0.15 local y, +0.06 local z) keep their
# place: on each handle, between its two rods, just above them. Each handle: two rods rising from the wall
# (r 0.115, z 0.015) to a grip bar (r 0.176, z 0.062) that runs along x. The original's rods are 0.057 m apart
# and its bar 0.1 m long; ours are 0.11 m apart and 0.13 m long, so that a hand's four fingers fit between the
# rods (a palm under the bar with the fingers raised between bar and wall).
POT_RADIUS = 0.12
POT_BODY_Z = (-0.065, 0.052)  # bottom, rim
POT_LID = (0.118, 0.006)  # radius, thickness (rests on the rim)
POT_LID_TRAVEL = 0.06
POT_KEYPOINTS = {"right": (0.0, 0.15, 0.06), "left": (0.0, -0.15, 0.06)}
POT_HANDLE_ROD_X = 0.055  # the two rods of a handle at x = ±0.055
POT_HANDLE_ROOT = (0.115, 0.015)  # (radial distance, z) where a rod leaves the wall
POT_HANDLE_BAR = (0.176, 0.062)  # (radial distance, z) of the grip bar's axis
POT_HANDLE_BAR_HALF = 0.065
POT_HANDLE_RADIUS = 0.005
# The original URDF gives its links explicit masses (body 3 kg, lid 1 kg), which Isaac Gym uses instead of the
# asset's density (1000): the shell and the lid carry those masses; the handles and the lid's knob use the density.
POT_BODY_MASS = 3.0
POT_LID_MASS = 1.0
POT_PART_DENSITY = 1000.0


def _capsule(body: mujoco.MjsBody, a, b, radius: float, rgba, density: float) -> None:
    body.add_geom(type=CAPSULE, fromto=[*a, *b], size=[radius, 0, 0], rgba=list(rgba), density=density)


def add_pot(spec: mujoco.MjSpec, pos: tuple[float, float, float]) -> None:
    """Free body `pot` (body and handles) and `pot_lid` on slide `pot_lid_slide` (0 = closed)."""
    pot = spec.worldbody.add_body(name="pot", pos=list(pos))
    pot.add_freejoint(name="pot")
    bottom, rim = POT_BODY_Z
    pot.add_geom(type=CYLINDER, size=[POT_RADIUS, (rim - bottom) / 2, 0], pos=[0, 0, (rim + bottom) / 2],
                 mass=POT_BODY_MASS, rgba=[0.55, 0.56, 0.6, 1])
    for sign in (1, -1):
        root_r, root_z = POT_HANDLE_ROOT
        bar_r, bar_z = POT_HANDLE_BAR
        for x in (POT_HANDLE_ROD_X, -POT_HANDLE_ROD_X):
            _capsule(pot, (x, sign * root_r, root_z), (x, sign * bar_r, bar_z), POT_HANDLE_RADIUS, METAL,
                     POT_PART_DENSITY)
        _capsule(pot, (-POT_HANDLE_BAR_HALF, sign * bar_r, bar_z), (POT_HANDLE_BAR_HALF, sign * bar_r, bar_z),
                 POT_HANDLE_RADIUS + 0.001, METAL, POT_PART_DENSITY)
    lid = pot.add_body(name="pot_lid")
    lid.add_joint(name="pot_lid_slide", type=mujoco.mjtJoint.mjJNT_SLIDE, axis=[0, 0, 1], range=[0.0, POT_LID_TRAVEL],
                  limited=mujoco.mjtLimited.mjLIMITED_TRUE, armature=0.01, damping=0.1)
    lid_radius, lid_thickness = POT_LID
    lid.add_geom(type=CYLINDER, size=[lid_radius, lid_thickness / 2, 0], pos=[0, 0, rim + lid_thickness / 2],
                 mass=POT_LID_MASS, rgba=[0.7, 0.7, 0.74, 1])
    # Knob: a bar along y on two posts, 0.04 m above the lid (the original's lid handle).
    top = rim + lid_thickness
    for y in (0.035, -0.035):
        _capsule(lid, (0, y, top), (0, y, top + 0.035), 0.004, METAL, POT_PART_DENSITY)
    _capsule(lid, (0, -0.05, top + 0.04), (0, 0.05, top + 0.04), 0.006, METAL, POT_PART_DENSITY)


# Mug (PartNet "cup" ×0.1: ≈0.18 × 0.11 × 0.16 m): a body of radius 0.05, a lid sliding up 0-0.108 m, and a
# C-shaped handle on each side along the mug's ±x axis (in the original one handle mesh, placed twice turned by π).
# Mug frame: the original's root, at the handles' mid-height, 0.084 m above the bottom. Keypoints (the original's
# offsets): the right handle's + 0.062 local x and the left handle's + 0.06 along the body link's z, which is the
# mug's -x: each in the middle of its handle's opening, between the body and the grip bar.
MUG_RADIUS = 0.05
MUG_BODY_Z = (-0.084, 0.064)  # bottom, rim
MUG_LID = (0.048, 0.011)  # radius, thickness (rests on the rim)
MUG_LID_TRAVEL = 0.108
MUG_KEYPOINTS = {"right": (0.062, 0.0, 0.0), "left": (-0.06, 0.0, 0.0)}
# Handle: a vertical grip bar 0.082 m from the axis (outer edge 0.089 m, as the original's), 0.104 m between the
# axes of its top and bottom arms; the opening between body and bar is 0.025 m wide and 0.09 m tall, room for the
# fingers of a hand holding it like a mug.
MUG_HANDLE_BAR_R = 0.082
MUG_HANDLE_HALF_HEIGHT = 0.052
MUG_HANDLE_RADIUS = 0.007
MUG_DENSITY = 500.0  # the original's asset density (its URDF gives no masses)


def add_mug(spec: mujoco.MjSpec, pos: tuple[float, float, float], quat: list[float]) -> None:
    """Free body `mug` (body and both handles) and `mug_lid` on slide `mug_lid_slide` (0 = closed)."""
    mug = spec.worldbody.add_body(name="mug", pos=list(pos), quat=list(quat))
    mug.add_freejoint(name="mug")
    bottom, rim = MUG_BODY_Z
    mug.add_geom(type=CYLINDER, size=[MUG_RADIUS, (rim - bottom) / 2, 0], pos=[0, 0, (rim + bottom) / 2],
                 density=MUG_DENSITY, rgba=[0.1, 0.15, 0.5, 1])
    blue = [0.12, 0.2, 0.6, 1]
    h = MUG_HANDLE_HALF_HEIGHT
    for sign in (1, -1):
        bar = sign * MUG_HANDLE_BAR_R
        _capsule(mug, (bar, 0, -h), (bar, 0, h), MUG_HANDLE_RADIUS, blue, MUG_DENSITY)
        for z in (h, -h):  # arms from inside the wall to the bar
            _capsule(mug, (sign * (MUG_RADIUS - 0.01), 0, z), (bar, 0, z), MUG_HANDLE_RADIUS, blue, MUG_DENSITY)
    lid = mug.add_body(name="mug_lid")
    lid.add_joint(name="mug_lid_slide", type=mujoco.mjtJoint.mjJNT_SLIDE, axis=[0, 0, 1], range=[0.0, MUG_LID_TRAVEL],
                  limited=mujoco.mjtLimited.mjLIMITED_TRUE, armature=0.01, damping=0.05)
    lid_radius, lid_thickness = MUG_LID
    lid.add_geom(type=CYLINDER, size=[lid_radius, lid_thickness / 2, 0], pos=[0, 0, rim + lid_thickness / 2],
                 density=MUG_DENSITY, rgba=[0.75, 0.75, 0.78, 1])
