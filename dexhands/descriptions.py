"""Text that tells an LLM what each named state tensor means (shown in reward/progress prompts).

The named state holds only observation and physical quantities (no success flags or counts, no step counter, no
success-test threshold): see `tests/test_llm_visible_state.py`.
"""

from __future__ import annotations

import torch

from dexhands.tasks.base import TaskConfig

HAND = {"right": "right hand", "left": "left hand"}
FINGER = {"ff": "index", "mf": "middle", "rf": "ring", "lf": "little", "th": "thumb"}


def _meanings() -> dict[str, str]:
    text = {
        "object_pos": "egg centre position, world frame, m",
        "object_rot": "egg orientation quaternion (x, y, z, w), world frame",
        "object_pose": "object_pos and object_rot concatenated",
        "object_linvel": "egg linear velocity, world frame, m/s",
        "object_angvel": "egg angular velocity, world frame, rad/s",
        "goal_pos": "goal position of the egg, world frame, m",
        "goal_rot": "goal orientation quaternion (x, y, z, w)",
        "goal_pose": "goal_pos and goal_rot concatenated",
        "fingertip_state": "right-hand fingertip links (index, middle, ring, little, thumb): pos 3, quat xyzw 4, "
        "linear vel 3, angular vel 3, world frame",
        "fingertip_pos": "right-hand fingertip link positions (index, middle, ring, little, thumb), world frame, m",
        "fingertip_force_torque": "right-hand fingertip force (N) and torque (N·m) sensors, link frame",
        "shadow_hand_dof_pos": "right-hand joint angles (24: wrist 2, index 4, middle 4, ring 4, little 5, thumb 5), rad",
        "shadow_hand_dof_vel": "right-hand joint velocities, rad/s",
        "shadow_hand_dof_force": "right-hand joint actuator torques, N·m",
        "shadow_hand_dof_lower_limits": "joint lower limits, rad",
        "shadow_hand_dof_upper_limits": "joint upper limits, rad",
        "actions": "last actions, clipped to [-1, 1]",
    }
    for key in [k for k in text if k.startswith(("object_", "goal_"))]:
        first, rest = key.split("_", 1)
        text[f"{first}_another_{rest}"] = text[key].replace("egg", "second egg").replace("goal", "second goal")
    for key in [k for k in text if k.startswith(("fingertip_", "shadow_hand_"))]:
        base, rest = ("fingertip", key[len("fingertip_"):]) if key.startswith("fingertip") else ("shadow_hand", key[12:])
        text[f"{base}_another_{rest}"] = text[key].replace("right-hand", "left-hand")
    for hand, words in HAND.items():
        text[f"{hand}_hand_pos"] = f"{words} palm centre (palm link + 0.08 m along its z, - 0.02 m along its y), world, m"
        text[f"{hand}_hand_rot"] = f"{words} palm orientation quaternion (x, y, z, w)"
        text[f"{hand}_hand_palm_pos"] = f"{words} palm link origin, world frame, m"
        text[f"{hand}_hand_base_pos"] = f"{words} root (mount) position, world frame, m"
        text[f"{hand}_hand_base_rot"] = f"{words} root (mount) orientation quaternion (x, y, z, w)"
        for short, finger in FINGER.items():
            text[f"{hand}_hand_{short}_pos"] = f"{words} {finger} fingertip point (distal link + 0.02 m along its z), world, m"
    return text


MEANINGS = _meanings()


def describe_state(state: dict[str, torch.Tensor], task: TaskConfig) -> str:
    """One line per state tensor: name, shape (N = number of envs), meaning."""
    meanings = {**MEANINGS, **task.state_meanings()}
    lines = [f"Task {task.name}: {task.description}",
             "World frame: z up, metres; quaternions (x, y, z, w). Every tensor has the env index first (N envs)."]
    for name, value in state.items():
        per_env = not name.endswith("_limits")  # joint limits are the only tensors shared by all envs
        shape = ", ".join(["N", *map(str, value.shape[1:])] if per_env else list(map(str, value.shape)))
        lines.append(f"{name} ({shape}): {meanings.get(name, '')}")
    return "\n".join(lines)
