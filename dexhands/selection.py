"""Which envs an operation (a reset, a new goal) touches: a list of rows, or a mask over all envs.

The env's reset code draws new values for `count` envs and writes them with `put`, so the same code serves
both simulators:
- `RowSelection` (CPU backend): the rows that finished. Finding them costs a host round-trip on CUDA, but
  random numbers are drawn only for those rows, so the random stream is the one the CPU backend always had.
- `MaskSelection` (Warp backend): a boolean mask; values are drawn for every env and written where the mask
  is set. Nothing leaves the device, so a step never waits for the host (the random stream differs from the
  row version after the first reset: same distribution, other samples).
"""

from __future__ import annotations

import numpy as np
import torch


class RowSelection:
    """The envs `rows` (a 1-D index tensor)."""

    def __init__(self, rows: torch.Tensor):
        self.rows = rows
        self.count = len(rows)
        self._by_device: dict[torch.device, torch.Tensor] = {}

    def _rows_on(self, device: torch.device) -> torch.Tensor:
        if device not in self._by_device:
            self._by_device[device] = self.rows.to(device)
        return self._by_device[device]

    def put(self, tensor: torch.Tensor, values, cols: int | torch.Tensor | None = None) -> None:
        """tensor[rows, cols] = values (values: (count, ...) or broadcastable, any device and dtype)."""
        rows = self._rows_on(tensor.device)
        values = _like(values, tensor)
        if cols is None:
            tensor[rows] = values
        elif isinstance(cols, int):
            tensor[rows, cols] = values
        else:
            tensor[rows[:, None], cols] = values

    def host_rows(self) -> np.ndarray:
        return self.rows.cpu().numpy()


class MaskSelection:
    """The envs where `mask` (a 1-D bool tensor over all envs) is set; `count` is all envs."""

    def __init__(self, mask: torch.Tensor):
        self.mask = mask
        self.count = len(mask)

    def put(self, tensor: torch.Tensor, values, cols: int | torch.Tensor | None = None) -> None:
        """tensor[mask, cols] = values[mask] (values: (num_envs, ...) or broadcastable)."""
        values = _like(values, tensor)
        old = tensor if cols is None else tensor[:, cols]
        mask = self.mask.view(-1, *([1] * (old.dim() - 1)))
        new = torch.where(mask, values, old)
        if cols is None:
            tensor.copy_(new)
        else:
            tensor[:, cols] = new


def _like(values, tensor: torch.Tensor):
    if isinstance(values, torch.Tensor):
        return values.to(tensor.device, tensor.dtype)
    return values
