"""Containers re-modelled from primitives: the bucket (GraspAndPlace) and the capped bottle (BottleCap).

All are free bodies whose reset pose is the pose built here (MuJoCo's `qpos0`). Only the reference's overall sizes,
joint ranges, placements and keypoint offsets are kept (reference §3-§4); the part shapes are our own. The
parent-child contact filter keeps a container's articulated parts from colliding with the container itself.
"""

from __future__ import annotations

import mujoco

BOX = mujoco.mjtGeom.mjGEOM_BOX
CYLINDER = mujoco.mjtGeom.mjGEOM_CYLINDER

# Bucket (PartNet 100454, one link, ≈0.11 × 0.11 × 0.10 m): an open square box, 6 mm walls, frame origin at its centre.
BUCKET_SIZE = (0.11, 0.11, 0.10)
BUCKET_WALL = 0.006
BUCKET_DENSITY = 500.0  # the original's object density


def add_bucket(body: mujoco.MjsBody, rgba=(0.25, 0.55, 0.35, 1.0), density: float = BUCKET_DENSITY) -> None:
    """Floor and four walls of an open bucket, centred on the body frame, opening towards +z."""
    sx, sy, sz = (s / 2 for s in BUCKET_SIZE)
    w = BUCKET_WALL / 2
    kw = {"type": BOX, "density": density, "rgba": list(rgba)}
    body.add_geom(size=[sx, sy, w], pos=[0, 0, -sz + w], **kw)
    for sign in (1, -1):
        body.add_geom(size=[w, sy, sz], pos=[sign * (sx - w), 0, 0], **kw)
        body.add_geom(size=[sx - 2 * w, w, sz], pos=[0, sign * (sy - w), 0], **kw)


def add_free_bucket(spec: mujoco.MjSpec, name: str, pos: tuple[float, float, float]) -> None:
    body = spec.worldbody.add_body(name=name, pos=list(pos))
    body.add_freejoint(name=name)
    add_bucket(body)


def add_free_cube(spec: mujoco.MjSpec, name: str, pos: tuple[float, float, float], half: float = 0.025,
                  density: float = 500.0) -> None:
    body = spec.worldbody.add_body(name=name, pos=list(pos))
    body.add_freejoint(name=name)
    body.add_geom(type=BOX, size=[half] * 3, density=density, rgba=[0.85, 0.45, 0.2, 1])


# Bottle (PartNet bottle ×0.15): body -> (slide 0-0.064 m along its axis) -> link -> (continuous hinge) -> cap.
# Bottle frame: origin on the axis 0.06 m above the bottom (so that the bottle's centre of mass lies over the
# holding palm at the original's placement), +z along the axis towards the cap. The cap point of the original
# (bottle + 0.15 local z) is the top of our cap; the bottle is 0.21 m tall. The cap link's frame coincides with the bottle's when capped, so
# ‖cap link - bottle‖ (the original's success measure, > 0.03 m) is the slide's travel.
BOTTLE_RADIUS = 0.03
BOTTLE_BODY = (-0.06, 0.085)  # z from, z to
BOTTLE_NECK = (0.085, 0.125, 0.013)  # z from, z to, radius
BOTTLE_CAP = (0.115, 0.15, 0.018)  # z from, z to, radius (closed)
BOTTLE_CAP_TRAVEL = 0.064
# A hollow plastic bottle: the solid cylinders get a low density (0.05 kg in all; solid at the original's 500 kg/m³ it
# would weigh 0.22 kg and roll out of the holding hand).
BOTTLE_DENSITY = 100.0
BOTTLE_CAP_POINT = (0.0, 0.0, 0.15)
# The cap holds on the neck by friction (it neither slides off under gravity nor spins freely): frictionloss on
# both joints, small against a hand's pull (the fingers' actuators reach ~1-2 N).
BOTTLE_CAP_FRICTION = (0.3, 0.002)  # slide N, hinge N·m


def _cylinder(body: mujoco.MjsBody, z0: float, z1: float, radius: float, rgba, density: float = 500.0) -> None:
    body.add_geom(type=CYLINDER, size=[radius, (z1 - z0) / 2, 0], pos=[0, 0, (z0 + z1) / 2], rgba=list(rgba),
                  density=density)


def add_bottle(spec: mujoco.MjSpec, pos: tuple[float, float, float], quat: list[float]) -> None:
    """Free body `bottle`, `bottle_cap_link` on slide `bottle_cap_slide`, `bottle_cap` on hinge `bottle_cap_hinge`."""
    bottle = spec.worldbody.add_body(name="bottle", pos=list(pos), quat=list(quat))
    bottle.add_freejoint(name="bottle")
    _cylinder(bottle, BOTTLE_BODY[0], BOTTLE_BODY[1], BOTTLE_RADIUS, (0.3, 0.6, 0.9, 0.9), density=BOTTLE_DENSITY)
    _cylinder(bottle, BOTTLE_NECK[0], BOTTLE_NECK[1], BOTTLE_NECK[2], (0.3, 0.6, 0.9, 0.9), density=BOTTLE_DENSITY)
    link = bottle.add_body(name="bottle_cap_link", mass=0.005, inertia=[1e-6] * 3, explicitinertial=True)
    link.add_joint(name="bottle_cap_slide", type=mujoco.mjtJoint.mjJNT_SLIDE, axis=[0, 0, 1],
                   range=[0.0, BOTTLE_CAP_TRAVEL], limited=mujoco.mjtLimited.mjLIMITED_TRUE,
                   frictionloss=BOTTLE_CAP_FRICTION[0], armature=0.01, damping=0.05)
    cap = link.add_body(name="bottle_cap")
    cap.add_joint(name="bottle_cap_hinge", type=mujoco.mjtJoint.mjJNT_HINGE, axis=[0, 0, 1],
                  frictionloss=BOTTLE_CAP_FRICTION[1], armature=0.001, damping=0.001)
    _cylinder(cap, BOTTLE_CAP[0], BOTTLE_CAP[1], BOTTLE_CAP[2], (0.9, 0.3, 0.2, 1))
    # Neck and cap overlap while capped: keep them apart in the contact model (and the link, which has no geoms).
    spec.add_exclude(bodyname1="bottle", bodyname2="bottle_cap")
