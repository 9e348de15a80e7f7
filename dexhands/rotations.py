"""Quaternion helpers in the Isaac Gym convention: quaternions are (x, y, z, w), batched in torch.

MuJoCo stores quaternions as (w, x, y, z); `wxyz_to_xyzw` / `xyzw_to_wxyz` convert at the boundary, so that
everything the tasks and LLM-written code see uses the Bi-DexHands convention.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def wxyz_to_xyzw(q: torch.Tensor) -> torch.Tensor:
    return torch.cat([q[..., 1:4], q[..., 0:1]], dim=-1)


def xyzw_to_wxyz(q: torch.Tensor) -> torch.Tensor:
    return torch.cat([q[..., 3:4], q[..., 0:3]], dim=-1)


def quat_mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Hamilton product a ⊗ b of (x, y, z, w) quaternions."""
    ax, ay, az, aw = a.unbind(-1)
    bx, by, bz, bw = b.unbind(-1)
    return torch.stack(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ],
        dim=-1,
    )


def quat_conjugate(q: torch.Tensor) -> torch.Tensor:
    return torch.cat([-q[..., 0:3], q[..., 3:4]], dim=-1)


def quat_apply(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate vectors v (..., 3) by quaternions q (..., 4)."""
    xyz, w = q[..., 0:3], q[..., 3:4]
    t = 2.0 * torch.cross(xyz, v, dim=-1)
    return v + w * t + torch.cross(xyz, t, dim=-1)


def quat_from_angle_axis(angle: torch.Tensor, axis: torch.Tensor) -> torch.Tensor:
    half = 0.5 * angle.unsqueeze(-1)
    axis = axis / axis.norm(dim=-1, keepdim=True)
    return torch.cat([axis * torch.sin(half), torch.cos(half)], dim=-1)


def rotation_distance(q_a: torch.Tensor, q_b: torch.Tensor) -> torch.Tensor:
    """Angle (rad) of q_a ⊗ q_b⁻¹, computed as Bi-DexHands does: 2·asin(min(‖vector part‖, 1))."""
    diff = quat_mul(q_a, quat_conjugate(q_b))
    return 2.0 * torch.asin(torch.clamp(diff[..., 0:3].norm(dim=-1), max=1.0))


def get_euler_xyz(q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Roll, pitch, yaw of (x, y, z, w) quaternions, each wrapped to [0, 2π) like Isaac Gym's helper."""
    x, y, z, w = q.unbind(-1)
    roll = torch.atan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
    sin_pitch = 2.0 * (w * y - z * x)
    pitch = torch.where(
        sin_pitch.abs() >= 1, torch.copysign(torch.full_like(sin_pitch, math.pi / 2), sin_pitch), torch.asin(sin_pitch)
    )
    yaw = torch.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    two_pi = 2.0 * math.pi
    return roll % two_pi, pitch % two_pi, yaw % two_pi


def isaac_euler_to_wxyz(x: float, y: float, z: float) -> np.ndarray:
    """MuJoCo (w, x, y, z) quaternion of Isaac Gym's `Quat.from_euler_zyx(x, y, z)` = Rz(z)·Ry(y)·Rx(x)."""

    def axis_quat(angle: float, axis: int) -> np.ndarray:
        q = np.zeros(4)
        q[0] = math.cos(angle / 2)
        q[1 + axis] = math.sin(angle / 2)
        return q

    def mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        aw, ax, ay, az = a
        bw, bx, by, bz = b
        return np.array(
            [
                aw * bw - ax * bx - ay * by - az * bz,
                aw * bx + ax * bw + ay * bz - az * by,
                aw * by - ax * bz + ay * bw + az * bx,
                aw * bz + ax * by - ay * bx + az * bw,
            ]
        )

    return mul(mul(axis_quat(z, 2), axis_quat(y, 1)), axis_quat(x, 0))
