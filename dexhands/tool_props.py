"""Free hand tools re-modelled from primitives: the scissors (ShadowHandScissors) and the capped pen (ShadowHandPen).

Both are free bodies lying on the table (their reset pose is the pose built here, MuJoCo's `qpos0`), with one
articulated part. The parent-child contact filter of MuJoCo keeps the two parts of a tool from colliding with
each other (the parent is a free body, not the world). Only the reference's overall sizes, joint ranges and
placements are kept (reference §3-§4); the part shapes are our own.
"""

from __future__ import annotations

import math

import mujoco

BOX = mujoco.mjtGeom.mjGEOM_BOX
CAPSULE = mujoco.mjtGeom.mjGEOM_CAPSULE

# Scissors (PartNet 10495 ×0.3): 0.28 × 0.48 × 0.016 m, one hinge of -0.597…0.4 rad, closed at the lower limit.
# Scissors frame: origin at the pivot, z up (normal to the blades), +y along the blades, the handles towards -y.
# Right leg = the free body `scissors` (loop at +x); left leg = `scissors_left_leg` hinged on it (loop at -x).
# Each leg is 0.008 m thick; the right leg lies under the left one, so the pivot is 0.008 m above the table.
SCISSORS_RANGE = (-0.597, 0.4)
SCISSORS_LEG_THICKNESS = 0.008
SCISSORS_BLADE_LENGTH = 0.24  # pivot to tip, along +y (overall length 0.48 with the loops)
SCISSORS_LOOP_CENTRE = (0.09, -0.19)  # right leg's loop centre (x, y); the left leg mirrors x
SCISSORS_LOOP_RADIUS = 0.04  # ring centre-line radius; rod radius 0.006 -> bore radius 0.034, width 0.27 overall
SCISSORS_LOOP_ROD = 0.006
# Keypoints ("handles"): each leg's loop centre, at the leg's mid-thickness, in that leg's frame (both frames
# coincide when the scissors are closed). A hand hooks its fingers into that loop.
SCISSORS_KEYPOINTS = {"right": (0.09, -0.19, -SCISSORS_LEG_THICKNESS / 2),
                      "left": (-0.09, -0.19, SCISSORS_LEG_THICKNESS / 2)}
# A small rotor inertia steadies the light leg's hinge (measured: it does not change how far the soft limit yields
# under a squeeze, see `dexhands.tasks.scissors`); damping gives the pivot a little friction-like resistance.
SCISSORS_ARMATURE = 0.01
SCISSORS_DAMPING = 0.01


def _z_quat(angle: float) -> list[float]:
    return [math.cos(angle / 2), 0.0, 0.0, math.sin(angle / 2)]


def _add_leg(body: mujoco.MjsBody, side: int, z: float, rgba: list[float]) -> None:
    """Blade along +y, shank from the pivot to the loop, loop as an 8-segment ring of capsules (all at height z)."""
    half = SCISSORS_LEG_THICKNESS / 2
    body.add_geom(type=BOX, size=[0.012, SCISSORS_BLADE_LENGTH / 2, half], pos=[0, SCISSORS_BLADE_LENGTH / 2, z],
                  density=2000, rgba=[0.8, 0.8, 0.82, 1])
    cx, cy = side * SCISSORS_LOOP_CENTRE[0], SCISSORS_LOOP_CENTRE[1]
    # Shank: from the pivot to the ring's near side.
    length = math.hypot(cx, cy) - SCISSORS_LOOP_RADIUS
    angle = math.atan2(cy, cx)
    mid = length / 2
    body.add_geom(type=BOX, size=[mid, 0.008, half], pos=[mid * math.cos(angle), mid * math.sin(angle), z],
                  quat=_z_quat(angle), density=1000, rgba=rgba)
    segments = 8
    for k in range(segments):
        a0, a1 = 2 * math.pi * k / segments, 2 * math.pi * (k + 1) / segments
        ends = [cx + SCISSORS_LOOP_RADIUS * math.cos(a0), cy + SCISSORS_LOOP_RADIUS * math.sin(a0), z,
                cx + SCISSORS_LOOP_RADIUS * math.cos(a1), cy + SCISSORS_LOOP_RADIUS * math.sin(a1), z]
        body.add_geom(type=CAPSULE, fromto=ends, size=[SCISSORS_LOOP_ROD, 0, 0], density=1000, rgba=rgba)


def add_scissors(spec: mujoco.MjSpec, pos: tuple[float, float, float], yaw: float) -> None:
    """Closed scissors: free body `scissors` (right leg) and `scissors_left_leg` on hinge `scissors_hinge`."""
    scissors = spec.worldbody.add_body(name="scissors", pos=list(pos), quat=_z_quat(yaw))
    scissors.add_freejoint(name="scissors")
    _add_leg(scissors, side=1, z=-SCISSORS_LEG_THICKNESS / 2, rgba=[0.2, 0.4, 0.85, 1])
    # The left leg's geometry is drawn closed; its body frame is turned by -0.597 about z so that the joint's
    # lower limit (-0.597 about -z) brings it back there. Axis -z: a growing angle swings its loop towards -x (away from
    # the right loop) and its blade towards +x, i.e. opens the scissors.
    left = scissors.add_body(name="scissors_left_leg", quat=_z_quat(SCISSORS_RANGE[0]))
    left.add_joint(name="scissors_hinge", type=mujoco.mjtJoint.mjJNT_HINGE, axis=[0, 0, -1], range=list(SCISSORS_RANGE),
                   limited=mujoco.mjtLimited.mjLIMITED_TRUE, damping=SCISSORS_DAMPING, armature=SCISSORS_ARMATURE)
    _add_leg(left, side=-1, z=SCISSORS_LEG_THICKNESS / 2, rgba=[0.85, 0.3, 0.2, 1])


# Pen (PartNet ×0.2, ≈0.37 m): body + cap on a slide. The original cap limit (0.492 m) was not rescaled with the
# meshes; we limit the slide to PEN_CAP_TRAVEL = 0.2 m, which leaves the success distance (0.3 m between the two
# keypoints, 0.14 m apart when capped) reachable with 0.04 m to spare and keeps the cap on its axis.
# Pen coordinates here: s along the pen (towards the body's end), "up" away from the table. With the original's
# Isaac euler (1.57, 1.57, 0) the pen frame's -z axis is world +y and its -x axis is world up, so the body points to
# the right hand (y > 0) and the cap to the left hand.
PEN_RADIUS = 0.012
PEN_BODY = (-0.095, 0.185)  # s range of the body; its inner 0.02 m sit inside the cap
PEN_CAP = (-0.185, -0.075)  # s range of the cap when closed
# Two blocks round the pen give the fingers something to pull on and keep the pen from rolling (their flat
# undersides are flush with the pen's): a grip stop on the body next to the cap's mouth and the clip block on
# the cap. s ranges, half width and top height above the axis:
PEN_GRIP = (0.0, 0.02)
PEN_CLIP = (-0.17, -0.11)
PEN_BOSS_HALF_WIDTH = 0.035
PEN_BOSS_HEIGHT = 0.02
PEN_CAP_TRAVEL = 0.2
# Keypoints ("handles"), pen coordinates (s, up): on the axis under the body's grip stop, and the cap's centre.
PEN_KEYPOINTS = {"right": (0.01, 0.0), "left": (-0.13, 0.0)}
# Drive of the cap (Bi-DexHands DoF props: stiffness 1, damping 0.5; its velocity/effort caps of 1 never bind
# for this weak spring): a spring of 1 N/m towards the capped position and a damper of 0.5 N·s/m.
PEN_CAP_STIFFNESS = 1.0
PEN_CAP_DAMPING = 0.5


def pen_local(s: float, up: float = 0.0) -> list[float]:
    """Pen coordinates (s along the pen, up) -> the pen frame's (x, y, z)."""
    return [-up, 0.0, -s]


def _pen_rod(body: mujoco.MjsBody, s_range: tuple[float, float], radius: float, rgba: list[float], **kwargs) -> None:
    body.add_geom(type=CAPSULE, fromto=pen_local(s_range[0] + radius) + pen_local(s_range[1] - radius),
                  size=[radius, 0, 0], rgba=rgba, **kwargs)


def _add_boss(body: mujoco.MjsBody, s_range: tuple[float, float], rgba: list[float]) -> None:
    """A block round the pen over `s_range`: flush with the pen's underside, 7 cm wide, 2 cm above the axis."""
    mid, half = (s_range[0] + s_range[1]) / 2, (s_range[1] - s_range[0]) / 2
    low, high = -PEN_RADIUS, PEN_BOSS_HEIGHT
    body.add_geom(type=BOX, size=[(high - low) / 2, PEN_BOSS_HALF_WIDTH, half],
                  pos=pen_local(mid, (high + low) / 2), rgba=rgba)


def add_pen(spec: mujoco.MjSpec, pos: tuple[float, float, float], quat: list[float]) -> None:
    """Free body `pen` (body, grip stop) and `pen_cap` (cap, clip) on slide `pen_cap_slide` (0 = capped)."""
    pen = spec.worldbody.add_body(name="pen", pos=list(pos), quat=list(quat))
    pen.add_freejoint(name="pen")
    _pen_rod(pen, PEN_BODY, PEN_RADIUS, [0.15, 0.2, 0.6, 1])
    _add_boss(pen, PEN_GRIP, [0.1, 0.1, 0.1, 1])
    cap = pen.add_body(name="pen_cap")
    # Opening moves the cap to smaller s, i.e. along the pen frame's +z.
    cap.add_joint(name="pen_cap_slide", type=mujoco.mjtJoint.mjJNT_SLIDE, axis=[0, 0, 1], range=[0.0, PEN_CAP_TRAVEL],
                  limited=mujoco.mjtLimited.mjLIMITED_TRUE, stiffness=PEN_CAP_STIFFNESS, damping=PEN_CAP_DAMPING,
                  armature=0.02)
    _pen_rod(cap, PEN_CAP, PEN_RADIUS, [0.85, 0.25, 0.2, 1])
    _add_boss(cap, PEN_CLIP, [0.75, 0.75, 0.78, 1])
