"""The second wall: LLM code runs in a separate, locked-down worker process, never in the trainer.

One template process per trainer, started from a clean environment (no API keys: it gets no environment at all),
imports torch and numpy and then forks one worker per compiled function (`llmcode.sandbox_worker` says what a
worker may do). The trainer talks to its worker over a socket and passes tensors through a sealed shared-memory
file. Every call has a wall-clock deadline; a worker past it, or one that died, is killed and the call raises
`LLMCodeFailed`, while the trainer carries on. What comes back is decoded strictly (`llmcode.wire`).
"""

from __future__ import annotations

import fcntl
import json
import mmap
import os
import select
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import torch

from llmcode import wire
from llmcode.errors import LLMCodeFailed, LLMCodeRefused, SandboxUnavailable
from llmcode.sandbox_worker import send_message

STARTUP_TIMEOUT_S = 120.0
MAX_REPLY_BYTES = 1 << 20
_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)
_BOOT = "import sys; sys.path.insert(0, sys.argv[2]); from llmcode.sandbox_worker import main; main(int(sys.argv[1]))"


class _Template:
    """The template process of this trainer process (started on first use, restarted if it died)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()  # a finalizer (kill) may run while this thread holds it (fork)
        self.process: subprocess.Popen | None = None
        self.control: socket.socket | None = None

    def fork(self, call_fd: int, arena_fd: int, arena_bytes: int, memory_limit_bytes: int) -> int:
        with self.lock:
            self._ensure_running()
            request = {"op": "fork", "arena_bytes": arena_bytes, "memory_limit_bytes": memory_limit_bytes}
            try:
                socket.send_fds(self.control, [json.dumps(request).encode()], [call_fd, arena_fd])
                reply = json.loads(self.control.recv(4096))
            except (OSError, ValueError) as error:
                self._stop()
                raise SandboxUnavailable(f"the sandbox's template process failed: {error}") from None
            if "pid" not in reply:  # the fork itself failed (e.g. no processes left); the template goes on
                raise SandboxUnavailable(f"no sandbox worker could be started: {reply.get('error')}")
            return int(reply["pid"])

    def kill(self, pid: int) -> None:
        with self.lock:
            if self.process is not None and self.process.poll() is None:
                try:
                    self.control.send(json.dumps({"op": "kill", "pid": pid}).encode())
                except OSError:
                    pass

    def _ensure_running(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        if not sys.platform.startswith("linux"):
            raise SandboxUnavailable("LLM code runs only inside the Linux seccomp sandbox; this is " + sys.platform)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-c", _BOOT, str(theirs.fileno()), _PACKAGE_PARENT],
            env={}, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, cwd="/", close_fds=True,
            start_new_session=True)  # a Ctrl-C at the terminal is the trainer's to handle, not the sandbox's
        theirs.close()
        self.control = ours
        ready, _, _ = select.select([ours], [], [], STARTUP_TIMEOUT_S)
        try:
            message = json.loads(ours.recv(65536)) if ready else {"error": "it did not start in time"}
        except (OSError, ValueError):
            message = {"error": f"it exited with code {self.process.poll()}"}
        if not message.get("ok"):
            self._stop()
            raise SandboxUnavailable(f"the sandbox's template process could not start: {message.get('error')}")

    def _stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
        if self.control is not None:
            self.control.close()
        self.process = self.control = None


_TEMPLATE = _Template()


class Worker:
    """One locked-down process holding one LLM function. `call` runs it; any failure is an `LLMCodeError`."""

    def __init__(self, source: str, entry: str, library_sources: dict[str, str], *, time_limit_s: float,
                 memory_limit_mb: int, arena_mb: int):
        self.time_limit_s = time_limit_s
        self.arena_bytes = arena_mb << 20
        self.arena_fd = os.memfd_create("llm-code-arena", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        os.ftruncate(self.arena_fd, self.arena_bytes)
        # Sealed at its size: a worker cannot shrink it under the trainer's mapping (which would crash the trainer).
        fcntl.fcntl(self.arena_fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
        self.arena = memoryview(mmap.mmap(self.arena_fd, self.arena_bytes))
        self.socket, theirs = socket.socketpair()
        self.pid = None
        try:
            self.pid = _TEMPLATE.fork(theirs.fileno(), self.arena_fd, self.arena_bytes, memory_limit_mb << 20)
            started = self._reply(STARTUP_TIMEOUT_S, "The sandbox worker")
        except LLMCodeFailed as error:
            raise SandboxUnavailable(f"the sandbox worker did not start: {error}") from None
        finally:
            theirs.close()
            if self.pid is None or self.socket is None:
                self.close()
        if not started["ok"]:
            self.close()
            raise SandboxUnavailable(self._text(started))
        self._send({"op": "define", "source": source, "entry": entry, "library": library_sources}, "The code's top level")
        reply = self._reply(time_limit_s, "The code's top level")
        if not reply["ok"]:
            self.close()
            raise (LLMCodeRefused if reply.get("refused") else LLMCodeFailed)(self._text(reply))

    def call(self, args: tuple, kwargs: dict, what: str) -> Any:
        """Run the function on copies of `args`/`kwargs`; returns the decoded result (tensors on `device`)."""
        if self.socket is None:
            raise LLMCodeFailed(f"{what} cannot run: its sandbox worker was stopped")
        encoder = wire.Encoder(self.arena, 0, self.arena_bytes // 2)
        try:
            args_spec, kwargs_spec = encoder.encode(list(args)), encoder.encode(dict(kwargs))
        except wire.WireError as error:
            raise LLMCodeFailed(f"{what} cannot be called with these arguments: {error}") from None
        self._send({"op": "call", "args": args_spec, "kwargs": kwargs_spec, "inputs_end": self.arena_bytes // 2}, what)
        reply = self._reply(self.time_limit_s, what)
        if not reply["ok"]:
            raise LLMCodeFailed(f"{what} {self._text(reply)}")
        device = _first_tensor_device(args, kwargs)
        try:
            return wire.decode(reply.get("value"), self.arena, self.arena_bytes // 2, self.arena_bytes, copy=True,
                               device=device)
        except (wire.WireError, ValueError, TypeError, RuntimeError) as error:
            raise LLMCodeFailed(f"{what} returned a value that cannot be used: {error}") from None

    def _send(self, request: dict, what: str) -> None:
        try:
            send_message(self.socket.fileno(), request)
        except OSError:  # the worker is gone (e.g. killed for its memory) since its last reply
            self.close()
            raise LLMCodeFailed(f"{what} failed: its worker process died. It may have used more than its memory "
                                "limit, or done something the sandbox forbids (files, network, processes).") from None

    def _reply(self, timeout_s: float, what: str) -> dict:
        """The worker's next message, all of it before the deadline; anything else stops the worker."""
        deadline = time.monotonic() + timeout_s
        try:
            header = self._read(4, deadline)
            size = int.from_bytes(header, "big")
            if size > MAX_REPLY_BYTES:
                raise ValueError(f"a reply of {size} bytes")
            message = json.loads(self._read(size, deadline))
            if type(message) is not dict or type(message.get("ok")) is not bool:
                raise ValueError("not a reply")
            return message
        except TimeoutError:
            self.close()
            raise LLMCodeFailed(f"{what} did not finish within the time limit of {timeout_s:g} s and was stopped. "
                                "Avoid unbounded or very long Python loops; use vectorised tensor operations.") from None
        except EOFError:
            self.close()
            raise LLMCodeFailed(f"{what} failed: its worker process died. It may have used more than its memory "
                                "limit, or done something the sandbox forbids (files, network, processes).") from None
        except Exception as error:  # malformed, too deep (RecursionError), too large: a broken or hostile worker
            self.close()
            raise LLMCodeFailed(f"{what} failed: its worker sent a malformed reply ({type(error).__name__})") from None

    def _read(self, size: int, deadline: float) -> bytes:
        chunks, left = [], size
        while left:
            ready, _, _ = select.select([self.socket], [], [], max(deadline - time.monotonic(), 0.0))
            if not ready:
                raise TimeoutError
            chunk = self.socket.recv(min(left, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    @staticmethod
    def _text(reply: dict) -> str:
        text = reply.get("error")
        return text[:4000] if isinstance(text, str) else "failed"

    def close(self) -> None:
        """Stop the worker and free its shared memory (idempotent)."""
        if self.socket is not None:
            self.socket.close()
            self.socket = None
            if self.pid is not None:
                _TEMPLATE.kill(self.pid)
        if self.arena_fd is not None:
            os.close(self.arena_fd)
            self.arena_fd = None
            try:
                self.arena.release()
            except BufferError:  # a view of it is still alive somewhere: the mapping goes with that view
                pass


def _first_tensor_device(args: tuple, kwargs: dict) -> torch.device | None:
    stack = [*args, *kwargs.values()]
    while stack:
        value = stack.pop(0)
        if isinstance(value, torch.Tensor):
            return value.device
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list | tuple):
            stack.extend(value)
    return None
