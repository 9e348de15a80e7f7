"""The second wall holds when the first is bypassed: code that reached the real builtins still cannot touch the OS.

A library function is trusted source that runs in the worker with the real builtins and modules, so here it stands in
for LLM code after a full escape of the allow-list (as the reported `match` escape was). Every attempt must fail
inside the worker, leave the target folder empty, and leave the trainer running.
"""

import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from llmcode import sandbox
from llmcode.safe_runner import LLMCodeFailed, compile_llm_function


def attempt(target):
    """Each attack with the real builtins: its outcome as text ('OK ...' means it worked)."""
    import ctypes
    import os
    import signal
    import socket

    libc = ctypes.CDLL(None, use_errno=True)

    def check(result):
        if result == -1:
            raise PermissionError(ctypes.get_errno(), "refused")
        return result

    attacks = {
        "open_for_writing": lambda: open(target + "/pwned.txt", "w"),
        "create_with_os_open": lambda: os.open(target + "/pwned2", os.O_CREAT | os.O_WRONLY),
        "read_a_secret_file": lambda: open("/etc/hostname").read(),
        "read_own_environ_file": lambda: open("/proc/self/environ", "rb").read(),
        "list_a_folder": lambda: os.listdir(target),
        "stat_a_file": lambda: os.stat("/etc/passwd"),
        "make_a_folder": lambda: os.mkdir(target + "/dir"),
        "open_a_socket": lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM),
        "open_a_unix_socket": lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM),
        "socketpair": lambda: socket.socketpair(),
        "fork": lambda: os.fork(),
        "os_system": lambda: (_ for _ in ()).throw(OSError("exit status " + str(os.system("touch " + target + "/p3")))),
        "execv": lambda: os.execv("/bin/sh", ["sh", "-c", "touch " + target + "/p4"]),
        "signal_the_trainer": lambda: os.kill(os.getppid(), signal.SIGTERM),
        "signal_pid_1": lambda: os.kill(1, 0),
        "start_a_thread": lambda: __import__("threading").Thread(target=print).start(),
        "write_to_stdout": lambda: os.write(1, b"x"),
        "write_to_stderr": lambda: os.write(2, b"x"),
        "shrink_shared_memory": lambda: [os.ftruncate(fd, 0) for fd in range(3, 64)] and None,
        "dup_a_descriptor": lambda: os.dup(0),
        "ptrace_the_trainer": lambda: check(libc.ptrace(16, os.getppid(), 0, 0)),
        "raw_openat_syscall": lambda: check(libc.syscall(257, -100, (target + "/p5").encode(), 0o101, 0o644)),
        "chdir": lambda: os.chdir("/"),
        "set_priority": lambda: os.setpriority(os.PRIO_PROCESS, 0, -5),
        "unshare_namespaces": lambda: check(libc.unshare(0x40000000)),
        "getrandom": lambda: os.urandom(8),
    }
    outcomes = {}
    for name, attack in attacks.items():
        try:
            outcomes[name] = "OK " + repr(attack())[:80]
        except BaseException as error:
            outcomes[name] = f"{type(error).__name__}: {error}"[:200]
    outcomes["environment"] = repr(dict(os.environ))
    return outcomes


def test_every_os_level_attack_fails_inside_the_worker(tmp_path):
    escaped = compile_llm_function("def f(target):\n    return attempt(target)\n", "f", max_abs=None,
                                   library={"attempt": attempt})
    outcomes = escaped(str(tmp_path))
    assert list(tmp_path.iterdir()) == [], "an attack created a file"
    environment = outcomes.pop("environment")
    expected = {"os_system": "OSError: exit status 32512",  # the shell could not even be forked (127 << 8)
                "start_a_thread": "RuntimeError: can't start new thread"}
    unexpected = {name: outcome for name, outcome in outcomes.items()
                  if not (outcome.startswith("PermissionError: [Errno 1]") or outcome == expected.get(name))}
    assert unexpected == {}, unexpected
    assert environment == "{}", "the worker's environment must be empty (no API keys)"
    assert len(outcomes) >= 25


def test_the_template_process_holds_no_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak")
    compile_llm_function("def f(x):\n    return x", "f")(torch.ones(1))
    template = sandbox._TEMPLATE.process
    assert Path(f"/proc/{template.pid}/environ").read_bytes() == b""


def exit_now(x):
    import os

    os._exit(3)


def allocate(x):
    return bytearray(8 << 30)


@pytest.mark.parametrize("library,text", [({"exit_now": exit_now}, "worker process died"),
                                          ({"allocate": allocate}, "MemoryError")])
def test_the_trainer_survives_a_worker_that_dies_or_runs_out_of_memory(library, text):
    name = next(iter(library))
    function = compile_llm_function(f"def f(x):\n    return {name}(x)\n", "f", library=library, memory_limit_mb=512)
    with pytest.raises(LLMCodeFailed, match=text):
        function(torch.ones(2))


def forge_reply(x):
    import json
    import os
    import struct

    body = json.dumps({"ok": True, "value": {"t": "tensor", "dtype": "float32", "shape": [4], "offset": 0}}).encode()
    os.write(3, struct.pack("!I", len(body)) + body)  # the call socket is the worker's only descriptor above 2
    while True:
        pass


def test_a_forged_reply_cannot_point_outside_the_output_area():
    function = compile_llm_function("def f(x):\n    return forge_reply(x)\n", "f", library={"forge_reply": forge_reply},
                                    time_limit_s=1.0)
    with pytest.raises(LLMCodeFailed, match="cannot be used: a tensor outside"):
        function(torch.ones(4))


def forge(kind):
    """Replies a broken or hostile worker could send, written straight onto its call socket (descriptor 3)."""
    import json
    import os
    import struct

    if kind == "partial":  # a header that promises more than ever comes, then silence
        os.write(3, struct.pack("!I", 100) + b'{"ok"')
    elif kind == "deep":
        body = b'{"ok": true, "value": ' + b"[" * 100000 + b"]" * 100000 + b"}"
        os.write(3, struct.pack("!I", len(body)) + body)
    elif kind == "amplify":  # every node the whole output area: cloned 64 times, it would exhaust the trainer's memory
        node = {"t": "tensor", "dtype": "uint8", "shape": [64 << 20], "offset": 128 << 20}
        body = json.dumps({"ok": True, "value": {"t": "list", "v": [node] * 64}}).encode()
        os.write(3, struct.pack("!I", len(body)) + body)
    elif kind == "huge_int":
        body = json.dumps({"ok": True, "value": {"t": "v", "v": 10**30}}).encode()
        os.write(3, struct.pack("!I", len(body)) + body)
    while True:
        pass


@pytest.mark.parametrize("kind,text", [("partial", "time limit of 1 s"), ("deep", "malformed reply"),
                                       ("amplify", "larger in total"), ("huge_int", "malformed value")])
def test_forged_replies_fail_cleanly_within_the_deadline(kind, text):
    function = compile_llm_function("def f(kind):\n    return forge(kind)\n", "f", library={"forge": forge},
                                    time_limit_s=1.0)
    with pytest.raises(LLMCodeFailed, match=text):
        function(kind)


def test_workers_end_with_a_killed_trainer(tmp_path):
    """A trainer killed mid-call (e.g. by the OOM killer) leaves no worker spinning behind it."""
    trainer = subprocess.Popen([sys.executable, "-c", (
        "import torch\n"
        "from llmcode import sandbox\n"
        "from llmcode.safe_runner import compile_llm_function\n"
        "f = compile_llm_function('def f(x):\\n    while True:\\n        pass\\n', 'f', time_limit_s=600)\n"
        "print(sandbox._TEMPLATE.process.pid, f._worker.pid, flush=True)\n"
        "f(torch.ones(1))\n")], stdout=subprocess.PIPE, text=True)
    template, worker = map(int, trainer.stdout.readline().split())
    time.sleep(0.5)  # the worker is now spinning in the call
    trainer.kill()
    trainer.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in (template, worker)):
        time.sleep(0.1)
    alive = [pid for pid in (template, worker) if Path(f"/proc/{pid}").exists()
             and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"]
    assert alive == [], "sandbox processes outlived their trainer"


def test_a_worker_killed_between_calls_gives_a_clean_failure_then_a_fresh_worker():
    import os
    import signal as signals

    function = compile_llm_function("def f(x):\n    return x * 2\n", "f")
    assert float(function(torch.ones(1))) == 2.0
    os.kill(function._worker.pid, signals.SIGKILL)  # e.g. the kernel's OOM killer
    time.sleep(0.2)
    with pytest.raises(LLMCodeFailed, match="worker process died"):
        function(torch.ones(1))
    assert float(function(torch.ones(1))) == 2.0
