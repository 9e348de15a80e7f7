"""Run LLM-written Python (reward, progress and factor functions) without trusting it: two walls.

`compile_llm_function(source, entry, ...)` returns a `SafeFunction`. The code passes

1. **an allow-list** (`llmcode.static_check`, `llmcode.restricted`): only listed syntax, modules, builtins and, per
   kind of object, listed attribute names; everything else is refused before anything runs, and every attribute
   access is checked again at run time against the kind of object it is made on;
2. **an OS boundary** (`llmcode.sandbox`): the code runs in its own worker process under a seccomp filter
   (libseccomp): no files, sockets, processes, threads or signals to others; no environment; a memory cap; a
   wall-clock deadline on every call, after which the worker is killed. The trainer survives any worker death.

Every call is the same: arguments are copied into shared memory (the caller's tensors never change), the result
is copied out and checked (types and dtypes by the wire format; finite and within `max_abs`; then `validate`).
Refusals raise `LLMCodeRefused`, run-time problems `LLMCodeFailed`; `str(error)` is written to be sent back to the LLM.
"""

from __future__ import annotations

import inspect
import textwrap
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from llmcode.errors import LLMCodeError, LLMCodeFailed, LLMCodeRefused, SandboxUnavailable
from llmcode.sandbox import Worker
from llmcode.static_check import check_source

__all__ = ["LLMCodeError", "LLMCodeFailed", "LLMCodeRefused", "SandboxUnavailable", "SafeFunction", "check_tensor",
           "compile_llm_function"]

DEFAULT_MAX_ABS = 1e6


class SafeFunction:
    """A checked LLM function running in its own sandbox worker; call it like the function itself."""

    def __init__(self, source: str, entry: str, parameters: list[str], library_sources: dict[str, str], *,
                 time_limit_s: float, memory_limit_mb: int, arena_mb: int, max_abs: float | None,
                 validate: Callable[[Any], Any] | None):
        self.source = source
        self.entry = entry
        self.parameters = parameters
        self.time_limit_s = time_limit_s
        self.max_abs = max_abs
        self.validate = validate
        self.calls = 0
        self._worker_args = dict(source=source, entry=entry, library_sources=library_sources, time_limit_s=time_limit_s,
                                 memory_limit_mb=memory_limit_mb, arena_mb=arena_mb)
        self._worker: Worker | None = None
        self._finalizer = None
        self._closed = False
        self._start()

    def _start(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # the stopped worker's memory goes now, not when this function is collected
        self._worker = Worker(**self._worker_args)
        self._finalizer = weakref.finalize(self, self._worker.close)

    def __repr__(self) -> str:
        return f"SafeFunction({self.entry}({', '.join(self.parameters)}), calls={self.calls})"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._closed:
            raise LLMCodeFailed(f"`{self.entry}` was closed")
        self.calls += 1
        if self._worker.socket is None:  # stopped after a time-out or a crash: the next call gets a fresh worker
            self._start()
        result = self._worker.call(args, kwargs, f"`{self.entry}`")
        try:
            _check_values(result, self.entry, self.max_abs)
        except LLMCodeError:
            raise
        except Exception as error:
            raise LLMCodeFailed(f"`{self.entry}` returned a value that cannot be checked: {error}") from None
        if self.validate is not None:
            try:
                self.validate(result)
            except LLMCodeError:
                raise
            except Exception as error:
                raise LLMCodeFailed(f"`{self.entry}` returned an invalid value: {error}") from None
        return result

    def close(self) -> None:
        """Stop the worker now (it is also stopped when the function is garbage-collected); later calls fail."""
        self._closed = True
        self._finalizer()


def _check_values(value: Any, entry: str, max_abs: float | None, where: str = "its result") -> None:
    """Every number in the result is finite and, with `max_abs`, no larger in magnitude."""
    if isinstance(value, dict):
        for key, item in value.items():
            _check_values(item, entry, max_abs, f"{where}[{key!r}]")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_values(item, entry, max_abs, f"{where}[{i}]")
    elif isinstance(value, torch.Tensor | np.ndarray | np.generic | float | int) and not isinstance(value, bool):
        tensor = torch.as_tensor(np.asarray(value)) if not isinstance(value, torch.Tensor) else value
        if tensor.dtype == torch.bool or tensor.numel() == 0:
            return
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            bad = int((~torch.isfinite(tensor)).sum())
            raise LLMCodeFailed(f"`{entry}`: {where} contains {bad} NaN or infinite values; "
                                "guard divisions, logs and square roots.")
        largest = float(tensor.double().abs().max())  # in float64: abs(int64 min) would overflow
        if max_abs is not None and largest > max_abs:
            raise LLMCodeFailed(f"`{entry}`: {where} has values of magnitude {largest:.3g}, above the "
                                f"limit of {max_abs:g}; scale it down.")


def _library_sources(library: dict[str, Callable[..., Any]]) -> dict[str, str]:
    """The trusted helpers go to the worker as source: each must be a plain function using only torch, math, np."""
    sources = {}
    for name, function in library.items():
        if name.startswith("_"):
            raise ValueError(f"library names must not start with '_': {name!r}")
        if not inspect.isfunction(function) or function.__name__ != name:
            raise ValueError(f"library entry {name!r} must be a plain function named {name!r}")
        sources[name] = textwrap.dedent(inspect.getsource(function))
    return sources


def compile_llm_function(source: str, entry: str, *, time_limit_s: float = 5.0,
                         validate: Callable[[Any], Any] | None = None,
                         library: dict[str, Callable[..., Any]] | None = None, max_abs: float | None = DEFAULT_MAX_ABS,
                         memory_limit_mb: int = 2048, arena_mb: int = 256) -> SafeFunction:
    """Check LLM source, start its sandbox worker, and return the callable `entry` function as a `SafeFunction`.

    `validate` is called with every return value; it rejects a value by raising (e.g. with `check_tensor`).
    `library` holds trusted helper functions (e.g. ProgressCounts' feature library) that the code may call by name;
    they are sent to the worker as source, so each must be a self-contained function using only torch, math and np.
    `max_abs` bounds every number returned (None: no bound); `time_limit_s` is each call's deadline;
    `memory_limit_mb` caps the worker's memory beyond its start; `arena_mb` is the shared memory for arguments and
    results (half each). Every call is run and checked alike.
    Raises `LLMCodeRefused` if the code is refused, `LLMCodeFailed` if its top level fails, `SandboxUnavailable` if
    the OS sandbox cannot start here.
    """
    library_sources = _library_sources(dict(library or {}))
    tree = check_source(source)
    definitions = {node.name: node for node in tree.body if hasattr(node, "decorator_list")}
    if entry not in definitions:
        found = ", ".join(definitions) or "none"
        raise LLMCodeRefused(f"The code must define a top-level function `{entry}`; functions found: {found}.")
    arguments = definitions[entry].args
    parameters = [a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs]
    return SafeFunction(source, entry, parameters, library_sources, time_limit_s=time_limit_s,
                        memory_limit_mb=memory_limit_mb, arena_mb=arena_mb, max_abs=max_abs, validate=validate)


def check_tensor(value: Any, name: str, shape: tuple[int | None, ...] | None = None, float_only: bool = True,
                 finite: bool = True) -> torch.Tensor:
    """Raise `LLMCodeFailed` unless `value` is a tensor of `shape` (None = any size), float dtype and finite values."""
    if not isinstance(value, torch.Tensor):
        raise LLMCodeFailed(f"`{name}` must be a torch.Tensor, got {type(value).__name__}.")
    if shape is not None:
        fits = value.dim() == len(shape) and all(s is None or s == v for s, v in zip(shape, value.shape))
        if not fits:
            wanted = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise LLMCodeFailed(f"`{name}` must have shape {wanted}, got {tuple(value.shape)}.")
    if float_only and not value.is_floating_point():
        raise LLMCodeFailed(f"`{name}` must be a floating-point tensor, got dtype {value.dtype}.")
    if finite and value.is_floating_point() and not bool(torch.isfinite(value).all()):
        bad = int((~torch.isfinite(value)).sum())
        raise LLMCodeFailed(f"`{name}` contains {bad} NaN or infinite values; guard divisions, logs and square roots.")
    return value
