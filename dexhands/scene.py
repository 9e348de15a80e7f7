"""Compose a Bi-DexHands scene (two Shadow Hands, eggs, goal markers) with `mujoco.MjSpec`.

Free-base hands (the 52-D action tasks) get a 6-DoF base: 3 slide joints along the world axes and a ball
joint whose pivot is the hand's centre of mass. Bi-DexHands drives the base with a world-frame force and
torque on the forearm, with gravity off and PhysX damping 100 s⁻¹ on every hand link, which makes the
command behave like a velocity: terminal speed v = F / (100·M), angular speed ω = τ / (100·I).
We reproduce that with gravity compensation on every hand body and joint damping on the base:
slides 100·M (M = total hand mass, 5.01 kg) and ball dofs 100·I_kk (I = hand inertia about its centre
of mass, in the mount frame, diagonal part). MuJoCo integrates joint damping implicitly, so these large
coefficients are stable at dt = 1/120. Not modelled: PhysX damping on the finger links themselves and
the small moment of the base force about the centre of mass (the force acts at the forearm's centre
of mass in Isaac Gym).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import mujoco
import numpy as np

from dexhands.assets import MOUNT_BODY, load_hand_spec
from dexhands.rotations import isaac_euler_to_wxyz

PHYSICS_DT = 1.0 / 120.0
HANDS = ("right", "left")
FINGERTIPS = ("ff", "mf", "rf", "lf", "th")
LINK_DAMPING = 100.0  # PhysX linear/angular damping of every hand link in the free-base tasks (s⁻¹)
EGG_HALF_SIZES = (0.03, 0.03, 0.04)
EGG_DENSITY = 500.0
CUBE_HALF_SIZE = 0.025  # the 5 cm cubes of PushBlock, BlockStack and ReOrientation
BODY_SENSORS = ("framepos", "framequat", "framelinvel", "frameangvel")
# Hand-hand contacts (`SceneLayout.hand_contacts`): the hand's collision geoms have contype 1, conaffinity 0, so they
# touch objects but not each other. With the flag, the right hand's geoms also get conaffinity bit 4 and the left
# hand's contype bit 4: right-left pairs pass MuJoCo's filter ((contype_a & conaffinity_b) or the reverse), while
# right-right and left-left pairs still do not (no new self-collisions) and contacts with objects stay as they were.
HAND_CONTACT_BIT = 4


@dataclass(frozen=True)
class HandPose:
    """Actor start pose of one hand: position (m) and Isaac `from_euler_zyx` arguments (rad)."""

    pos: tuple[float, float, float]
    euler: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class SceneLayout:
    right: HandPose
    left: HandPose
    free_base: bool
    object_starts: tuple[tuple[float, float, float], ...]  # free eggs
    goal_starts: tuple[tuple[float, float, float], ...]  # egg-shaped goal markers
    props: tuple[Callable[[mujoco.MjSpec], None], ...] = ()  # builders of tables and articulated objects
    tracked_bodies: tuple[str, ...] = ()  # bodies whose world pose and velocity the tasks read
    tracked_joints: tuple[str, ...] = ()  # object joints (1-DoF) whose position the tasks read and reset
    # Shape of the free objects and their goal markers: "egg" (ellipsoid) or "cube" (5 cm box), and density.
    object_shape: str = "egg"
    object_density: float = EGG_DENSITY
    # Rendering camera "overview": position and x/y axes of the image (default: the throwing tasks' side view).
    camera: tuple[tuple[float, float, float], tuple[float, ...]] = ((1.5, -0.55, 1.3), (0, 1, 0, -0.4, 0, 0.916))
    # The two hands collide with each other: the tasks whose Isaac Gym actors have collision filter 0 (Isaac's filter
    # is a bitmask, shapes collide unless their filters share a bit); filter -1 tasks keep the hands apart.
    hand_contacts: bool = False


@dataclass
class HandIndex:
    """Where one hand lives in the compiled model (arrays of indices into qpos, qvel, ctrl, sensordata)."""

    qpos: np.ndarray  # 24 finger/wrist joints
    dof: np.ndarray
    ctrl: np.ndarray  # 20 actuators
    ctrl_low: np.ndarray
    ctrl_high: np.ndarray
    joint_low: np.ndarray
    joint_high: np.ndarray
    mount_pos0: np.ndarray  # world position of the mount at rest
    mount_quat0: np.ndarray  # world (w, x, y, z) of the mount at rest
    base_qpos: np.ndarray | None = None  # 3 slides + 4 ball
    base_dof: np.ndarray | None = None  # 3 slides + 3 ball
    pivot: np.ndarray | None = None  # ball pivot in the mount frame
    sensors: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Scene:
    model: mujoco.MjModel
    hands: dict[str, HandIndex]
    object_qpos: list[np.ndarray]  # 7 per object (pos, w x y z)
    object_dof: list[np.ndarray]  # 6 per object (linear world, angular local)
    goal_mocap: list[int]
    hand_mass: float
    hand_inertia: np.ndarray  # diagonal, mount frame, about the centre of mass
    bodies: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # tracked body -> sensor kind -> adr
    joint_qpos: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))  # tracked joints
    joint_dof: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))


def _hand_mass_properties(spec: mujoco.MjSpec) -> tuple[float, np.ndarray, np.ndarray]:
    """Mass, centre of mass (mount frame) and inertia diagonal (mount frame, about the CoM) of one hand."""
    model = spec.compile()
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    mount = model.body(MOUNT_BODY).id
    mount_rot = data.xmat[mount].reshape(3, 3)
    bodies = range(1, model.nbody)
    mass = float(sum(model.body_mass[b] for b in bodies))
    com = sum(model.body_mass[b] * data.xipos[b] for b in bodies) / mass
    inertia = np.zeros((3, 3))
    for b in bodies:
        rot = data.ximat[b].reshape(3, 3)
        r = data.xipos[b] - com
        inertia += rot @ np.diag(model.body_inertia[b]) @ rot.T
        inertia += model.body_mass[b] * (r @ r * np.eye(3) - np.outer(r, r))
    com_local = mount_rot.T @ (com - data.xpos[mount])
    inertia_local = mount_rot.T @ inertia @ mount_rot
    return mass, com_local, np.diag(inertia_local).copy()


def _quat_to_mat(q: np.ndarray) -> np.ndarray:
    mat = np.zeros(9)
    mujoco.mju_quat2Mat(mat, q)
    return mat.reshape(3, 3)


def _add_hand_sensors(spec: mujoco.MjSpec) -> None:
    """Fingertip frame state, fingertip force-torque, palm pose and per-joint actuator force sensors."""
    sensor = mujoco.mjtSensor
    for tip in FINGERTIPS:
        body = f"robot0:{tip}distal"
        for kind in ("framepos", "framequat", "framelinvel", "frameangvel"):
            spec.add_sensor(name=f"{tip}_{kind}", type=getattr(sensor, f"mjSENS_{kind.upper()}"),
                            objtype=mujoco.mjtObj.mjOBJ_XBODY, objname=body)
        # Force-torque at the distal link origin, like Isaac Gym's default fingertip sensor pose.
        spec.body(body).add_site(name=f"ft_{tip}", pos=[0, 0, 0], group=5)
        spec.add_sensor(name=f"{tip}_force", type=sensor.mjSENS_FORCE, objtype=mujoco.mjtObj.mjOBJ_SITE, objname=f"ft_{tip}")
        spec.add_sensor(name=f"{tip}_torque", type=sensor.mjSENS_TORQUE, objtype=mujoco.mjtObj.mjOBJ_SITE,
                        objname=f"ft_{tip}")
    for kind in ("framepos", "framequat"):
        spec.add_sensor(name=f"palm_{kind}", type=getattr(sensor, f"mjSENS_{kind.upper()}"),
                        objtype=mujoco.mjtObj.mjOBJ_XBODY, objname="robot0:palm")
    for joint in spec.joints:
        spec.add_sensor(name=f"frc_{joint.name.split(':')[-1]}", type=sensor.mjSENS_JOINTACTFRC,
                        objtype=mujoco.mjtObj.mjOBJ_JOINT, objname=joint.name)


def _add_free_base(spec: mujoco.MjSpec, mount_world_quat: np.ndarray, pivot: np.ndarray) -> None:
    """3 world-axis slides then a ball joint at the hand's centre of mass, all on the mount body."""
    mount = spec.body(MOUNT_BODY)
    world_to_mount = _quat_to_mat(mount_world_quat).T
    for axis_name, axis in zip("xyz", np.eye(3)):
        mount.add_joint(name=f"base_{axis_name}", type=mujoco.mjtJoint.mjJNT_SLIDE, axis=world_to_mount @ axis)
    mount.add_joint(name="base_rot", type=mujoco.mjtJoint.mjJNT_BALL, pos=pivot)
    for body in spec.bodies:
        body.gravcomp = 1.0  # Bi-DexHands disables gravity on the hands.


def _world_quat(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.zeros(4)
    mujoco.mju_mulQuat(out, a, b)
    return out


def build_scene(layout: SceneLayout) -> Scene:
    """Compile the scene of `layout` and index everything the batched env reads and writes."""
    probe = load_hand_spec()
    # The mount's own orientation (euler π/2, 0, π in robot.xml), resolved by the compiler.
    mount_quat_local = probe.compile().body(MOUNT_BODY).quat.copy()
    hand_mass, pivot, hand_inertia = _hand_mass_properties(load_hand_spec())

    scene = mujoco.MjSpec()
    scene.modelname = "dexhands"
    scene.option.timestep = PHYSICS_DT
    scene.compiler.degree = False  # the task objects give joint ranges in radians (MjSpec's default is degrees)
    # Copy the hand's sizes so that attach does not report conflicts.
    scene.njmax, scene.nconmax = probe.njmax, probe.nconmax
    for attr in ("nuser_jnt", "nuser_site", "nuser_tendon", "nuser_sensor", "nuser_actuator"):
        setattr(scene, attr, getattr(probe, attr))
    scene.option.iterations = probe.option.iterations
    scene.memory = 4 * 1024 * 1024  # MjData arena (default here: 16 MB each); plenty for ≤ 500 constraints
    scene.visual.global_.offwidth, scene.visual.global_.offheight = 1280, 960
    scene.worldbody.add_light(pos=[0, -0.6, 2.5], dir=[0, 0, -1], diffuse=[0.8, 0.8, 0.8])
    scene.worldbody.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[2, 2, 0.05], rgba=[0.3, 0.35, 0.4, 1])
    scene.worldbody.add_camera(name="overview", pos=list(layout.camera[0]), xyaxes=list(layout.camera[1]))

    mount_quats = {}
    for hand_name in HANDS:
        pose: HandPose = getattr(layout, hand_name)
        actor_quat = isaac_euler_to_wxyz(*pose.euler)
        mount_quats[hand_name] = _world_quat(actor_quat, mount_quat_local)
        hand = load_hand_spec()
        _add_hand_sensors(hand)
        if layout.free_base:
            _add_free_base(hand, mount_quats[hand_name], pivot)
        if layout.hand_contacts:
            _enable_contacts_with_the_other_hand(hand, hand_name)
        frame = scene.worldbody.add_frame(pos=list(pose.pos), quat=list(actor_quat))
        scene.attach(hand, prefix=f"{hand_name}/", frame=frame)

    if layout.object_shape == "cube":
        shape = {"type": mujoco.mjtGeom.mjGEOM_BOX, "size": [CUBE_HALF_SIZE] * 3}
    else:
        shape = {"type": mujoco.mjtGeom.mjGEOM_ELLIPSOID, "size": list(EGG_HALF_SIZES)}
    for i, start in enumerate(layout.object_starts):
        suffix = "" if i == 0 else str(i + 1)
        body = scene.worldbody.add_body(name=f"object{suffix}", pos=list(start))
        body.add_freejoint(name=f"object{suffix}")
        body.add_geom(**shape, density=layout.object_density, rgba=[0.6, 0.72, 0.98, 1])
    for i, start in enumerate(layout.goal_starts):
        suffix = "" if i == 0 else str(i + 1)
        body = scene.worldbody.add_body(name=f"goal{suffix}", pos=list(start), mocap=True)
        body.add_geom(**shape, contype=0, conaffinity=0, rgba=[0.98, 0.6, 0.6, 0.5])

    for build in layout.props:
        build(scene)
    for name in layout.tracked_bodies:
        # World pose and velocity of the body frame, read like the fingertips (lag one physics step).
        for kind in BODY_SENSORS:
            scene.add_sensor(name=f"body_{name}_{kind}", type=getattr(mujoco.mjtSensor, f"mjSENS_{kind.upper()}"),
                             objtype=mujoco.mjtObj.mjOBJ_XBODY, objname=name)

    model = scene.compile()
    hands = {name: _index_hand(model, name, getattr(layout, name), mount_quats[name], layout.free_base, pivot)
             for name in HANDS}
    if layout.free_base:
        for index in hands.values():
            model.dof_damping[index.base_dof[:3]] = LINK_DAMPING * hand_mass
            model.dof_damping[index.base_dof[3:]] = LINK_DAMPING * hand_inertia
    objects = [model.joint(f"object{'' if i == 0 else i + 1}") for i in range(len(layout.object_starts))]
    return Scene(
        model=model,
        hands=hands,
        object_qpos=[np.arange(j.qposadr[0], j.qposadr[0] + 7) for j in objects],
        object_dof=[np.arange(j.dofadr[0], j.dofadr[0] + 6) for j in objects],
        goal_mocap=[int(model.body(f"goal{'' if i == 0 else i + 1}").mocapid[0]) for i in range(len(layout.goal_starts))],
        hand_mass=hand_mass,
        hand_inertia=hand_inertia,
        bodies={name: {kind: _sensor_adr(model, f"body_{name}_{kind}") for kind in BODY_SENSORS}
                for name in layout.tracked_bodies},
        joint_qpos=np.array([model.joint(j).qposadr[0] for j in layout.tracked_joints], dtype=int),
        joint_dof=np.array([model.joint(j).dofadr[0] for j in layout.tracked_joints], dtype=int),
    )


def _enable_contacts_with_the_other_hand(hand: mujoco.MjSpec, hand_name: str) -> None:
    """Set HAND_CONTACT_BIT on the collision geoms of one hand: conaffinity on the right, contype on the left."""
    for geom in hand.geoms:
        if geom.contype:
            if hand_name == "right":
                geom.conaffinity |= HAND_CONTACT_BIT
            else:
                geom.contype |= HAND_CONTACT_BIT


def _sensor_adr(model: mujoco.MjModel, name: str) -> np.ndarray:
    sensor = model.sensor(name)
    return np.arange(sensor.adr[0], sensor.adr[0] + sensor.dim[0])


def _index_hand(model: mujoco.MjModel, name: str, pose: HandPose, mount_quat: np.ndarray, free_base: bool,
                pivot: np.ndarray) -> HandIndex:
    prefix = f"{name}/robot0:"
    joints = [j for j in range(model.njnt) if model.joint(j).name.startswith(prefix)]
    actuators = [a for a in range(model.nu) if model.actuator(a).name.startswith(prefix)]
    index = HandIndex(
        qpos=np.array([model.jnt_qposadr[j] for j in joints]),
        dof=np.array([model.jnt_dofadr[j] for j in joints]),
        ctrl=np.array(actuators),
        ctrl_low=model.actuator_ctrlrange[actuators, 0].copy(),
        ctrl_high=model.actuator_ctrlrange[actuators, 1].copy(),
        joint_low=model.jnt_range[joints, 0].copy(),
        joint_high=model.jnt_range[joints, 1].copy(),
        mount_pos0=np.array(pose.pos, dtype=float),
        mount_quat0=mount_quat,
    )
    if free_base:
        slide = model.joint(f"{name}/base_x")
        ball = model.joint(f"{name}/base_rot")
        index.base_qpos = np.concatenate([np.arange(slide.qposadr[0], slide.qposadr[0] + 3),
                                          np.arange(ball.qposadr[0], ball.qposadr[0] + 4)])
        index.base_dof = np.concatenate([np.arange(slide.dofadr[0], slide.dofadr[0] + 3),
                                         np.arange(ball.dofadr[0], ball.dofadr[0] + 3)])
        index.pivot = pivot.copy()
    for s in range(model.nsensor):
        sensor = model.sensor(s)
        if sensor.name.startswith(f"{name}/"):
            index.sensors[sensor.name[len(name) + 1:]] = np.arange(sensor.adr[0], sensor.adr[0] + sensor.dim[0])
    return index
