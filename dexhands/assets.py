"""Locate the OpenAI Shadow Hand MJCF shipped inside the installed `gymnasium-robotics` package.

The hand model is never copied into this repository: it is read from the installed package
(Apache-2.0, see `gymnasium_robotics/envs/assets/LICENSE.md`, which must travel with it).
"""

from __future__ import annotations

import importlib.util
import os
from functools import cache

import mujoco

# (fragment, the MJCF element it must be included under; None = top level)
HAND_FRAGMENTS = (("shared_asset.xml", "asset"), ("shared.xml", None), ("robot.xml", "worldbody"))
MOUNT_BODY = "robot0:hand mount"


@cache
def gym_robotics_assets_dir() -> str:
    """Folder `gymnasium_robotics/envs/assets` of the installed package."""
    # find_spec locates the package without importing it (its import prints a notice and is slow).
    package = importlib.util.find_spec("gymnasium_robotics")
    if package is None or package.origin is None:
        raise ImportError("dexhands needs the `gymnasium-robotics` package for the Shadow Hand model")
    return os.path.join(os.path.dirname(package.origin), "envs", "assets")


def hand_dir() -> str:
    """Folder holding robot.xml, shared.xml, shared_asset.xml."""
    return os.path.join(gym_robotics_assets_dir(), "hand")


def mesh_dir() -> str:
    """Folder holding the hand's STL meshes."""
    return os.path.join(gym_robotics_assets_dir(), "stls", "hand")


def licence_file() -> str:
    """The Apache-2.0 notice that covers the hand model."""
    return os.path.join(gym_robotics_assets_dir(), "LICENSE.md")


def hand_wrapper_xml() -> str:
    """A tiny MJCF that includes the packaged fragments by absolute path (built at run time, never stored)."""
    lines = []
    for name, parent in HAND_FRAGMENTS:
        include = f'<include file="{os.path.join(hand_dir(), name)}"/>'
        lines.append(f"  <{parent}>{include}</{parent}>" if parent else f"  {include}")
    includes = "\n".join(lines)
    return f'<mujoco model="shadow_hand">\n  <compiler angle="radian" meshdir="{mesh_dir()}"/>\n{includes}\n</mujoco>'


def load_hand_spec() -> mujoco.MjSpec:
    """One right Shadow Hand (24 joints, 20 position actuators) as an MjSpec, with the mount at the origin.

    The packaged sensors (joint positions, touch) are removed: dexhands adds the sensors it needs.
    """
    spec = mujoco.MjSpec.from_string(hand_wrapper_xml())
    for sensor in list(spec.sensors):
        spec.delete(sensor)
    # Isaac Gym replaces the mount position by the actor start pose but keeps the mount's euler.
    spec.body(MOUNT_BODY).pos = [0.0, 0.0, 0.0]
    return spec
