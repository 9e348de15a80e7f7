"""How values cross between the trainer and a sandbox worker: a tree of JSON specs, tensors' bytes in shared memory.

A value is encoded as a JSON-able spec: containers and plain scalars inline, tensors and arrays as
(dtype, shape, offset) into a shared-memory arena that both processes map. The trainer trusts what it sends;
what comes back is a hostile worker's word, so `decode` accepts only listed dtypes, bounded shapes, offsets
inside the output region, bounded sizes and depth, and copies every tensor out before anyone checks it.
Nothing is ever unpickled.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

MAX_DEPTH = 8
MAX_NODES = 10_000
MAX_STRING = 10_000
MAX_DIMS = 8

TORCH_DTYPES = {str(d).removeprefix("torch."): d for d in (
    torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.int32, torch.int16, torch.int8,
    torch.uint8, torch.bool)}
NUMPY_DTYPES = {np.dtype(d).str: np.dtype(d) for d in (
    np.float32, np.float64, np.float16, np.int64, np.int32, np.int16, np.int8, np.uint8, np.bool_)}


class WireError(ValueError):
    """A value that cannot cross: an unsupported type, or a malformed or oversized reply."""


def _align(offset: int) -> int:
    return (offset + 63) // 64 * 64


class Encoder:
    """Lays values out in `arena[start:limit]`: `spec = encoder.encode(value)` copies each tensor's bytes there.
    Spec tags: "v" a JSON value (None, bool, int, str), "f" a float (as its repr, so nan and inf survive), "list",
    "tuple", "dict" (pairs), and "tensor"/"ndarray"/"scalar" (dtype, shape, offset into the arena)."""

    def __init__(self, arena: memoryview, start: int, limit: int):
        self.arena, self.start, self.offset, self.limit = arena, start, start, limit
        self.nodes = 0

    def reserve(self, nbytes: int) -> int:
        offset = _align(self.offset)
        if offset + nbytes > self.limit:
            raise WireError(f"the value needs more than the {(self.limit - self.start) >> 20} MiB shared-memory area")
        self.offset = offset + nbytes
        return offset

    def encode(self, value: Any, depth: int = 0) -> Any:
        self.nodes += 1
        if depth > MAX_DEPTH or self.nodes > MAX_NODES:
            raise WireError(f"the value is nested deeper than {MAX_DEPTH} or has more than {MAX_NODES} parts")
        if value is None or type(value) in (bool, str):
            if type(value) is str and len(value) > MAX_STRING:
                raise WireError(f"a string longer than {MAX_STRING} characters")
            return {"t": "v", "v": value}
        if type(value) is int:
            if not -(2**63) <= value < 2**63:
                raise WireError("an integer beyond 64 bits")
            return {"t": "v", "v": value}
        if type(value) is float:
            return {"t": "f", "v": repr(value)}
        if isinstance(value, torch.Tensor):
            return self.array(value.detach(), "tensor")
        if isinstance(value, np.ndarray | np.generic):
            return self.array(torch.from_numpy(np.array(value, copy=True, order="C")) if value.dtype.str in NUMPY_DTYPES
                              else _unsupported(value), "ndarray" if isinstance(value, np.ndarray) else "scalar")
        if type(value) in (list, tuple) or isinstance(value, tuple):
            kind = "list" if type(value) is list else "tuple"
            return {"t": kind, "v": [self.encode(v, depth + 1) for v in value]}
        if type(value) is dict:
            return {"t": "dict", "v": [[self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in value.items()]}
        return _unsupported(value)

    def array(self, tensor: torch.Tensor, kind: str) -> dict:
        name = str(tensor.dtype).removeprefix("torch.")
        if name not in TORCH_DTYPES:
            _unsupported(tensor)
        nbytes = tensor.numel() * tensor.element_size()
        offset = self.reserve(nbytes)
        if nbytes:
            target = torch.frombuffer(self.arena, dtype=tensor.dtype, count=tensor.numel(), offset=offset)
            target.view(tensor.shape).copy_(tensor)
        return {"t": kind, "dtype": name, "shape": list(tensor.shape), "offset": offset}


def _unsupported(value: Any) -> Any:
    raise WireError(f"values of type {type(value).__name__}"
                    f"{' with dtype ' + str(value.dtype) if hasattr(value, 'dtype') else ''} cannot be passed or returned")


def decode(spec: Any, arena: memoryview, start: int, limit: int, copy: bool, device: torch.device | None = None) -> Any:
    """The value a spec describes. Tensors read from `arena[start:limit]`; `copy` makes them private (for the
    trainer, which must not read memory the worker can still write). Raises `WireError` on anything malformed."""
    budget = {"nodes": MAX_NODES, "bytes": limit - start}  # tensors may not add up to more than the area holds

    def walk(node: Any, depth: int) -> Any:
        budget["nodes"] -= 1
        if depth > MAX_DEPTH or budget["nodes"] < 0 or type(node) is not dict:
            raise WireError("malformed or oversized value")
        kind, value = node.get("t"), node.get("v")
        if kind == "v":
            if value is None or type(value) is bool or (type(value) is str and len(value) <= MAX_STRING):
                return value
            if type(value) is int and -(2**63) <= value < 2**63:
                return value
        elif kind == "f" and type(value) is str and len(value) <= 40:
            return float(value)
        elif kind in ("list", "tuple") and type(value) is list:
            items = [walk(v, depth + 1) for v in value]
            return items if kind == "list" else tuple(items)
        elif kind == "dict" and type(value) is list:
            pairs = [(walk(p[0], depth + 1), walk(p[1], depth + 1)) for p in value if type(p) is list and len(p) == 2]
            if len(pairs) == len(value) and all(k is None or type(k) in (str, int, bool, float) for k, _ in pairs):
                return dict(pairs)
        elif kind in ("tensor", "ndarray", "scalar"):
            return array(node, kind)
        raise WireError("malformed value")

    def array(node: dict, kind: str) -> Any:
        dtype, shape, offset = TORCH_DTYPES.get(node.get("dtype")), node.get("shape"), node.get("offset")
        if dtype is None or type(shape) is not list or len(shape) > MAX_DIMS or type(offset) is not int:
            raise WireError("malformed tensor")
        if not all(type(s) is int and 0 <= s for s in shape):
            raise WireError("malformed tensor shape")
        count = math.prod(shape)
        itemsize = torch.empty((), dtype=dtype).element_size()
        if not start <= offset <= limit or count * itemsize > limit - offset:
            raise WireError("a tensor outside the shared-memory area")
        budget["bytes"] -= count * itemsize
        if budget["bytes"] < 0:
            raise WireError("tensors larger in total than the shared-memory area")
        tensor = torch.frombuffer(arena, dtype=dtype, count=count, offset=offset) if count else torch.empty(0, dtype=dtype)
        tensor = tensor.view(shape)
        if copy:
            tensor = tensor.clone()
        if kind == "tensor":
            return tensor if device is None or device.type == "cpu" else tensor.to(device)
        if dtype == torch.bfloat16:
            raise WireError("bfloat16 arrays have no numpy dtype")
        array_ = tensor.numpy()
        return array_[()] if kind == "scalar" else array_

    return walk(spec, 0)
