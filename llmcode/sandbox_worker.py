"""The sandbox's processes: a clean template process that forks one worker per compiled LLM function.

Started by `llmcode.sandbox` (`python -I -c ... main(FD)`) with an empty environment. The template imports torch
and numpy once (a worker reads nothing but its own /proc entries, before its filter is loaded), then waits on its
control socket
for requests from the trainer: `fork` (with the worker's call socket and shared-memory fd passed along) and `kill`.
A forked worker closes every other file descriptor, caps its address space, and loads a seccomp filter
(libseccomp, through pyseccomp) that allows only the system calls computing needs: reading, writing to its call
socket only, memory mapping, futexes, clocks and exiting. Opening files, sockets, starting processes or threads,
signalling other processes, ptrace and every other system call fail with EPERM. Only then does it read the LLM
code and run it, one request at a time, for as long as the trainer keeps its socket open.
"""

from __future__ import annotations

import errno
import json
import mmap
import os
import resource
import signal
import socket
import struct
import traceback
from typing import Any

_HEADER = struct.Struct("!I")
PR_SET_PDEATHSIG = 1
MAX_REQUEST = 64 << 20


# ------------------------------------------------------------------------------------------------
# Messages: a 4-byte length, then JSON. Used on both sides (the trainer imports these two).
# ------------------------------------------------------------------------------------------------
def send_message(fd: int, message: dict) -> None:
    data = json.dumps(message).encode()
    data = _HEADER.pack(len(data)) + data
    while data:
        data = data[os.write(fd, data):]


def read_exactly(fd: int, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_message(fd: int, limit: int = MAX_REQUEST) -> dict:
    (size,) = _HEADER.unpack(read_exactly(fd, _HEADER.size))
    if size > limit:
        raise ValueError(f"a message of {size} bytes (limit {limit})")
    message = json.loads(read_exactly(fd, size))
    if type(message) is not dict:
        raise ValueError("a message that is not a JSON object")
    return message


# ------------------------------------------------------------------------------------------------
# Lockdown: what a worker does right after the fork, before it reads any LLM code.
# ------------------------------------------------------------------------------------------------
def _lock_down(call_fd: int, arena_fd: int, arena_bytes: int, memory_limit_bytes: int) -> memoryview:
    """Close, cap and filter; returns the shared-memory arena, mapped before the filter forbids anything new."""
    import ctypes

    import pyseccomp as seccomp

    template = os.getppid()
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # end with the template, which ends with the trainer
    if os.getppid() != template:
        os._exit(1)

    arena = mmap.mmap(arena_fd, arena_bytes)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    keep = {0, 1, 2, call_fd}
    for fd in map(int, os.listdir("/proc/self/fd")):
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    if memory_limit_bytes > 0:
        with open("/proc/self/statm") as statm:
            mapped = int(statm.read().split()[0]) * mmap.PAGESIZE
        limit = mapped + memory_limit_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_NOFILE, (call_fd + 1, call_fd + 1))

    rules = seccomp.SyscallFilter(defaction=seccomp.ERRNO(errno.EPERM))
    for name in ("read", "close", "mmap", "munmap", "mremap", "mprotect", "brk", "futex", "exit", "exit_group",
                 "rt_sigreturn", "rt_sigprocmask", "sigaltstack", "getpid", "gettid", "clock_gettime",
                 "clock_getres", "gettimeofday", "sched_yield", "sched_getaffinity", "getrusage", "restart_syscall"):
        rules.add_rule(seccomp.ALLOW, name)
    rules.add_rule(seccomp.ALLOW, "write", seccomp.Arg(0, seccomp.EQ, call_fd))
    # malloc gives memory back with these; other advice (e.g. MADV_REMOVE on the shared arena) stays refused.
    for advice in (mmap.MADV_DONTNEED, mmap.MADV_FREE, mmap.MADV_HUGEPAGE, mmap.MADV_NOHUGEPAGE):
        rules.add_rule(seccomp.ALLOW, "madvise", seccomp.Arg(2, seccomp.EQ, advice))
    rules.load()
    return memoryview(arena)


# ------------------------------------------------------------------------------------------------
# A worker: define the LLM function, then answer calls.
# ------------------------------------------------------------------------------------------------
def _serve(call_fd: int, arena: memoryview) -> None:
    from llmcode import wire
    from llmcode.errors import LLMCodeRefused
    from llmcode.restricted import LLM_FILENAME, define
    from llmcode.static_check import check_source

    function, source_lines = None, []
    while True:
        try:
            request = read_message(call_fd)
        except EOFError:
            os._exit(0)
        reply: dict[str, Any]
        try:
            if request["op"] == "define":
                library = {}
                for name, library_source in request["library"].items():  # the trainer's trusted helpers
                    scope = {"torch": __import__("torch"), "math": __import__("math"), "np": __import__("numpy")}
                    exec(compile(library_source, f"<library {name}>", "exec"), scope)
                    library[name] = scope[name]
                source_lines = request["source"].splitlines()
                try:
                    namespace = define(check_source(request["source"]), library)
                except LLMCodeRefused as error:
                    reply = {"ok": False, "refused": True, "error": str(error)}
                else:
                    function = namespace[request["entry"]]
                    reply = {"ok": True}
            else:
                end = request["inputs_end"]
                args = wire.decode(request["args"], arena, 0, end, copy=False)
                kwargs = wire.decode(request["kwargs"], arena, 0, end, copy=False)
                result = function(*args, **kwargs)
                reply = {"ok": True, "value": wire.Encoder(arena, end, len(arena)).encode(result)}
                del args, kwargs, result
        except BaseException as error:  # anything the code raises is reported, never fatal to the worker
            reply = {"ok": False, "error": _describe(error, source_lines, LLM_FILENAME)}
        send_message(call_fd, reply)


def _describe(error: BaseException, source_lines: list[str], filename: str) -> str:
    """`TypeError: ...` plus the frames of the LLM code only (the first and last few of a deep recursion)."""
    frames = []
    for frame, lineno in traceback.walk_tb(error.__traceback__):
        if frame.f_code.co_filename == filename:
            text = source_lines[lineno - 1].strip() if 0 < lineno <= len(source_lines) else ""
            frames.append(f"  line {lineno}, in {frame.f_code.co_name}: {text}")
    text = str(error)
    text = text if len(text) <= 1000 else text[:1000] + " ..."
    message = f"raised {type(error).__name__}: {text}"
    if isinstance(error, MemoryError) or "can't allocate memory" in text or "not enough memory" in text:
        message += "\nThe code ran out of its memory limit; use smaller intermediate tensors."
    if len(frames) > 6:
        frames = frames[:2] + [f"  ... {len(frames) - 5} more frames ..."] + frames[-3:]
    if frames:
        message += "\nTraceback (your code only, most recent call last):\n" + "\n".join(frames)
    return message


def _worker(call_fd: int, arena_fd: int, arena_bytes: int, memory_limit_bytes: int) -> None:
    try:
        arena = _lock_down(call_fd, arena_fd, arena_bytes, memory_limit_bytes)
    except BaseException as error:  # without the wall, no LLM code runs: report and leave
        send_message(call_fd, {"ok": False, "error": f"the sandbox could not lock down: {error!r}"})
        os._exit(1)
    send_message(call_fd, {"ok": True})
    _serve(call_fd, arena)


# ------------------------------------------------------------------------------------------------
# The template process.
# ------------------------------------------------------------------------------------------------
def main(control_fd: int) -> None:
    import ctypes

    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # end with the trainer
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the trainer decides what a Ctrl-C means (workers inherit this)
    os.environ.clear()
    control = socket.socket(fileno=control_fd)  # SOCK_SEQPACKET: one JSON message per packet, no length prefix
    try:
        import numpy  # noqa: F401  (imported once here, so forked workers never read a file)
        import pyseccomp  # noqa: F401
        import torch

        torch.set_num_threads(1)
        torch.set_num_interop_threads(1)
        # Modules torch and numpy import lazily on first use: import them here, since a worker cannot read files.
        repr(torch.ones(2)), str(numpy.ones(2)), f"{torch.ones(1).item():.3f}", torch.linalg.vector_norm(torch.ones(2))
        import llmcode.restricted  # noqa: F401
        import llmcode.static_check  # noqa: F401
        import llmcode.wire  # noqa: F401
    except BaseException as error:
        control.send(json.dumps({"ok": False, "error": f"{type(error).__name__}: {error}"}).encode())
        return
    control.send(json.dumps({"ok": True}).encode())
    children: set[int] = set()
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, 1 << 16, 2)
        except OSError:
            break
        if not data:
            break
        request = json.loads(data)
        if request["op"] == "fork":
            try:
                pid = os.fork()
            except OSError as error:  # e.g. out of processes: this request fails, the template and its workers go on
                for fd in fds:
                    os.close(fd)
                control.sendall(json.dumps({"error": str(error)}).encode())
                continue
            if pid == 0:
                try:
                    _worker(fds[0], fds[1], int(request["arena_bytes"]), int(request["memory_limit_bytes"]))
                finally:
                    os._exit(1)
            children.add(pid)
            for fd in fds:
                os.close(fd)
            control.sendall(json.dumps({"pid": pid}).encode())
        elif request["op"] == "kill" and request["pid"] in children:
            _kill(request["pid"])
            children.discard(request["pid"])
        for pid in list(children):  # reap workers that ended by themselves (their trainer closed the socket)
            if os.waitpid(pid, os.WNOHANG)[0]:
                children.discard(pid)
    for pid in children:
        _kill(pid)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


