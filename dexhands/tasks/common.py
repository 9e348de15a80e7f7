"""Helpers shared by the manipulation tasks: keypoints on links, fingertip distance sums, object state."""

from __future__ import annotations

from functools import cache

import torch

from dexhands.rotations import quat_apply
from dexhands.scene import FINGERTIPS, HandPose

PI = 3.14159  # the original configs write π with 5 decimals
# The palms-down pose over a table shared by Switch, PushBlock, Scissors and Pen (fingers towards -x).
PALMS_DOWN_RIGHT = HandPose((0.55, 0.2, 0.8), (PI, 0, 1.57))
PALMS_DOWN_LEFT = HandPose((0.55, -0.2, 0.8), (PI, 0, 1.57))


@cache
def constant(values: tuple, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A small constant tensor, built once per device: a host-to-device copy on every step would stall a GPU rollout.
    Shared between calls, so callers must not modify it in place."""
    return torch.tensor(values, dtype=dtype, device=device)


def link_point(body: dict[str, torch.Tensor], offset: tuple[float, float, float]) -> torch.Tensor:
    """World position of a point given in a link's frame (Bi-DexHands: pos + quat_apply(rot, offset))."""
    local = constant(tuple(offset), body["pos"].dtype, body["pos"].device).expand_as(body["pos"])
    return body["pos"] + quat_apply(body["rot"], local)


def fingertip_distance_sum(state: dict[str, torch.Tensor], hand: str, point: torch.Tensor) -> torch.Tensor:
    """Σ over the five fingertip points of `hand` ("right"/"left") of their distance to `point`."""
    return sum(torch.norm(point - state[f"{hand}_hand_{tip}_pos"], dim=-1) for tip in FINGERTIPS)


def set_object_state(state: dict[str, torch.Tensor], body: dict[str, torch.Tensor], suffix: str = "") -> None:
    """`object{suffix}_pos/_rot/_pose/_linvel/_angvel` from a tracked body (the actor root in Bi-DexHands)."""
    state[f"object{suffix}_pos"] = body["pos"]
    state[f"object{suffix}_rot"] = body["rot"]
    state[f"object{suffix}_pose"] = torch.cat([body["pos"], body["rot"]], -1)
    state[f"object{suffix}_linvel"] = body["linvel"]
    state[f"object{suffix}_angvel"] = body["angvel"]
