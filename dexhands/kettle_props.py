"""ShadowHandKettle's props from primitives: a hollow kettle with a sliding lid, the bucket, and 30 balls of "water".

Kettle (PartNet kettle ×0.2, ≈0.37 × 0.23 × 0.18 m, lid prismatic 0-0.032 m): frame origin at the body's centre,
+x towards the handle, -x towards the spout, +z up. The body is a 12-sided shell 0.22 m across and 0.18 m tall
(floor, staves standing on it, a lid on top). The handle is a vertical grip bar at x = 0.165 on two arms, so the
original's handle keypoint (kettle + 0.15 local x) lies inside the loop just in front of the bar, and the 4.7 cm
between body and bar take a hand's fingers. The spout is an open square tube from a window high in the front stave
(above the resting water) up to the original's spout keypoint (kettle - 0.2 local x + 0.07 local z), rising 23°,
so that the tipped kettle pours its balls through it. Overall 0.37 × 0.22 × 0.18 m, 0.35 kg.
Bucket: the GraspAndPlace bucket (`container_props.add_bucket`), here with its frame at the centre of its rim, so that
the original's spawn height (0.5 m on a 0.4 m table) stands it on the table and its keypoint (bucket - 0.1 local z)
is the centre of its bottom: "into the bucket".

Water: free spheres with the default contact bits, so they touch each other, the kettle, the bucket, the table and
the hands (filtering the hands out was measured to save nothing: the broad phase already skips far pairs). Their
contacts are frictionless (condim 1, given priority over the other geom's condim): water does not grip, and the 30
ball contacts then add 1 constraint row each instead of 4 (measured: about 10 % faster physics steps).
"""

from __future__ import annotations

import math

import mujoco

from dexhands.container_props import BUCKET_SIZE, add_bucket

BOX = mujoco.mjtGeom.mjGEOM_BOX
CAPSULE = mujoco.mjtGeom.mjGEOM_CAPSULE
CYLINDER = mujoco.mjtGeom.mjGEOM_CYLINDER
SPHERE = mujoco.mjtGeom.mjGEOM_SPHERE

# Keypoints (Bi-DexHands offsets, in the kettle frame and the bucket frame).
KETTLE_HANDLE_POINT = (0.15, 0.0, 0.0)
KETTLE_SPOUT_POINT = (-0.2, 0.0, 0.07)
BUCKET_POINT = (0.0, 0.0, -0.1)

KETTLE_RADIUS = 0.11  # apothem of the 12-sided shell, to the outer face
KETTLE_HALF_HEIGHT = 0.09
KETTLE_WALL = 0.004
KETTLE_SIDES = 12
KETTLE_DENSITY = 300.0  # a thin shell: 0.35 kg with the lid (the original's mass is not in the reference)
KETTLE_LID_TRAVEL = 0.032
# Spout: a square tube (inner half-width, wall) from its base on the front stave to the spout point.
SPOUT_BASE = (-KETTLE_RADIUS + KETTLE_WALL, 0.03)  # (x, z) of the tube's axis where it leaves the body
SPOUT_INNER = 0.011
SPOUT_WALL = 0.003
HANDLE_BAR_X = 0.165
HANDLE_BAR_RADIUS = 0.008
HANDLE_HALF_SPAN = 0.06

# Water: 30 spheres of 5 mm radius at the density of water (16 g in all), resting on the kettle floor in a 6 × 5 layer.
WATER_GRID = (6, 5)
WATER_BALLS = WATER_GRID[0] * WATER_GRID[1]
WATER_RADIUS = 0.005
WATER_DENSITY = 1000.0
WATER_SPACING = 0.0105
WATER_CONDIM = 1  # frictionless (see the module docstring)


def _y_quat(angle: float) -> list[float]:
    return [math.cos(angle / 2), 0.0, math.sin(angle / 2), 0.0]


def _z_quat(angle: float) -> list[float]:
    return [math.cos(angle / 2), 0.0, 0.0, math.sin(angle / 2)]


def _shell_geom(body: mujoco.MjsBody, rgba=(0.75, 0.76, 0.8, 1.0), **kwargs) -> None:
    body.add_geom(density=KETTLE_DENSITY, rgba=list(rgba), **kwargs)


def _add_staves(body: mujoco.MjsBody) -> None:
    """The 12 wall staves; the one facing -x keeps a window where the spout leaves the body."""
    # They stand on the floor disk, so that only the disk touches the table (12 stave ends would add ~50 contacts).
    bottom, top = -KETTLE_HALF_HEIGHT + 2 * KETTLE_WALL, KETTLE_HALF_HEIGHT - 2 * KETTLE_WALL  # the lid closes the top
    half_side = KETTLE_RADIUS * math.tan(math.pi / KETTLE_SIDES) + 0.001  # slight overlap closes the corners
    centre = KETTLE_RADIUS - KETTLE_WALL / 2
    window = (SPOUT_BASE[1] - 0.025, SPOUT_BASE[1] + 0.025)  # the tube's opening through the stave (z from, to)
    for k in range(KETTLE_SIDES):
        angle = 2 * math.pi * k / KETTLE_SIDES
        x, y = centre * math.cos(angle), centre * math.sin(angle)
        spans = [(bottom, window[0]), (window[1], top)] if k == KETTLE_SIDES // 2 else [(bottom, top)]
        for z0, z1 in spans:
            _shell_geom(body, type=BOX, size=[KETTLE_WALL / 2, half_side, (z1 - z0) / 2], pos=[x, y, (z0 + z1) / 2],
                        quat=_z_quat(angle))


def _add_spout(body: mujoco.MjsBody) -> None:
    """Four walls of a square tube from SPOUT_BASE to the spout point, open at both ends."""
    (x0, z0), (x1, _, z1) = SPOUT_BASE, KETTLE_SPOUT_POINT
    length = math.hypot(x1 - x0, z1 - z0)
    # Tube frame: local x along the tube (towards the tip), y across, z completing it.
    pitch = math.atan2(z1 - z0, x0 - x1)  # elevation of the tube above the -x direction
    quat = _y_quat(math.pi + pitch)  # rotating +x by π + pitch about y points it along the tube
    mid = [(x0 + x1) / 2, 0.0, (z0 + z1) / 2]
    axis_z = [math.sin(math.pi + pitch), 0.0, math.cos(math.pi + pitch)]  # the tube frame's z axis in the kettle frame
    offset = SPOUT_INNER + SPOUT_WALL / 2
    outer = SPOUT_INNER + SPOUT_WALL
    for sign in (1, -1):
        _shell_geom(body, type=BOX, size=[length / 2, outer, SPOUT_WALL / 2], quat=quat,
                    pos=[mid[0] + sign * offset * axis_z[0], 0.0, mid[2] + sign * offset * axis_z[2]])
        _shell_geom(body, type=BOX, size=[length / 2, SPOUT_WALL / 2, SPOUT_INNER], quat=quat,
                    pos=[mid[0], sign * offset, mid[2]])


def _add_handle(body: mujoco.MjsBody) -> None:
    """A vertical grip bar behind the handle keypoint, on two horizontal arms from the back of the body."""
    x = HANDLE_BAR_X
    _shell_geom(body, type=CAPSULE, size=[HANDLE_BAR_RADIUS, 0, 0],
                fromto=[x, 0, -HANDLE_HALF_SPAN, x, 0, HANDLE_HALF_SPAN])
    for z in (-HANDLE_HALF_SPAN, HANDLE_HALF_SPAN):
        _shell_geom(body, type=CAPSULE, size=[HANDLE_BAR_RADIUS, 0, 0], fromto=[KETTLE_RADIUS - 0.01, 0, z, x, 0, z])


def add_kettle(spec: mujoco.MjSpec, pos: tuple[float, float, float], yaw: float) -> None:
    """Free body `kettle` with `kettle_lid` on slide `kettle_lid_slide` (0 closed ... 0.032 m up)."""
    kettle = spec.worldbody.add_body(name="kettle", pos=list(pos), quat=_z_quat(yaw))
    kettle.add_freejoint(name="kettle")
    _shell_geom(kettle, type=CYLINDER, size=[KETTLE_RADIUS, KETTLE_WALL, 0],
                pos=[0, 0, -KETTLE_HALF_HEIGHT + KETTLE_WALL])  # the floor, 8 mm
    _add_staves(kettle)
    _add_spout(kettle)
    _add_handle(kettle)
    lid = kettle.add_body(name="kettle_lid", pos=[0, 0, KETTLE_HALF_HEIGHT - KETTLE_WALL])
    lid.add_joint(name="kettle_lid_slide", type=mujoco.mjtJoint.mjJNT_SLIDE, axis=[0, 0, 1],
                  range=[0.0, KETTLE_LID_TRAVEL], limited=mujoco.mjtLimited.mjLIMITED_TRUE, damping=0.05,
                  armature=0.01)
    glass = (0.75, 0.85, 0.95, 0.35)  # a see-through lid shows the water in pictures
    _shell_geom(lid, type=CYLINDER, size=[KETTLE_RADIUS, KETTLE_WALL, 0], rgba=glass)
    _shell_geom(lid, type=SPHERE, size=[0.015, 0, 0], pos=[0, 0, KETTLE_WALL + 0.01])  # knob


def add_rim_bucket(spec: mujoco.MjSpec, pos: tuple[float, float, float]) -> None:
    """Free body `bucket` whose frame is the centre of the rim (the GraspAndPlace bucket, 0.05 m lower inside it)."""
    bucket = spec.worldbody.add_body(name="bucket", pos=list(pos))
    bucket.add_freejoint(name="bucket")
    shell = bucket.add_body(name="bucket_shell", pos=[0, 0, -BUCKET_SIZE[2] / 2])  # welded: no joint
    add_bucket(shell)


def water_start_positions(kettle_pos: tuple[float, float, float]) -> list[tuple[float, float, float]]:
    """Ball centres on the kettle floor (the kettle upright at `kettle_pos`): a 6 × 5 layer centred on its axis."""
    nx, ny = WATER_GRID
    floor_top = kettle_pos[2] - KETTLE_HALF_HEIGHT + 2 * KETTLE_WALL
    return [(kettle_pos[0] + (i - (nx - 1) / 2) * WATER_SPACING, kettle_pos[1] + (j - (ny - 1) / 2) * WATER_SPACING,
             floor_top + WATER_RADIUS) for i in range(nx) for j in range(ny)]


def add_water(spec: mujoco.MjSpec, kettle_pos: tuple[float, float, float]) -> None:
    """Free spheres `water_0` ... `water_29` resting on the floor of the kettle standing upright at `kettle_pos`."""
    for k, centre in enumerate(water_start_positions(kettle_pos)):
        ball = spec.worldbody.add_body(name=f"water_{k}", pos=list(centre))
        ball.add_freejoint(name=f"water_{k}")
        ball.add_geom(type=SPHERE, size=[WATER_RADIUS, 0, 0], density=WATER_DENSITY, condim=WATER_CONDIM, priority=1,
                      rgba=[0.25, 0.5, 0.95, 1])
