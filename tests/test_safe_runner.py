"""The safe runner refuses or contains hostile and broken LLM code, and runs real LLM answers unchanged.

Every snippet here goes through `compile_llm_function` as the scripts use it. The first wall (the allow-list) refuses
most of them; `tests/test_sandbox.py` shows that the second wall (the worker's seccomp filter) holds without it.
"""

import math
import textwrap

import numpy as np
import pytest
import torch

from llmcode.safe_runner import LLMCodeFailed, LLMCodeRefused, SafeFunction, check_tensor, compile_llm_function


def _float_tensor_of_batch(value):
    check_tensor(value, "reward", shape=(4,))


MATCH_ESCAPE = """
import torch
def f(x):
    match torch.no_grad():
        case object(__reduce_ex__=r):
            return r
    return x.sum(-1)
"""

# (id, source of a function `f(x)` (x: float tensor (4, 3)), expected error, text the message must contain)
HOSTILE = [
    # The reported escape and its relatives: syntax outside the allow-list.
    ("match_class_pattern", MATCH_ESCAPE, LLMCodeRefused, "`match` statements"),
    ("match_capture", "def f(x):\n    match x:\n        case y:\n            return y.sum(-1)", LLMCodeRefused, "`match`"),
    ("except_as_private", "def f(x):\n    try:\n        return x.sum(-1)\n    except Exception as _e:\n        return x",
     LLMCodeRefused, "`_e`"),
    ("walrus_private", "def f(x):\n    (_y := x)\n    return x.sum(-1)", LLMCodeRefused, "`_y`"),
    ("keyword_private", "import torch\ndef f(x):\n    return torch.sum(x, _dim=1)", LLMCodeRefused, "`_dim`"),
    ("class_definition", "class A:\n    pass\ndef f(x):\n    return x", LLMCodeRefused, "class definitions"),
    ("global_statement", "def f(x):\n    global y\n    y = 1\n    return x", LLMCodeRefused, "`global`"),
    ("nonlocal_statement", "def f(x):\n    y = 1\n    def g():\n        nonlocal y\n    return x", LLMCodeRefused, "`nonlocal`"),
    ("async_def", "async def f(x):\n    return x", LLMCodeRefused, "`async def`"),
    ("yield", "def f(x):\n    yield x", LLMCodeRefused, "`yield`"),
    ("yield_from", "def f(x):\n    yield from [x]", LLMCodeRefused, "`yield from`"),
    ("except_star", "def f(x):\n    try:\n        pass\n    except* ValueError:\n        pass\n    return x", LLMCodeRefused,
     "`except*`"),
    ("other_decorator", "import torch\n@torch.no_grad()\ndef f(x):\n    return x", LLMCodeRefused, "decorators are not allowed"),
    ("top_level_call", "import torch\nX = torch.zeros(3)\ndef f(x):\n    return x", LLMCodeRefused, "top-level"),
    ("top_level_statement", "for i in range(3):\n    pass\ndef f(x):\n    return x", LLMCodeRefused, "top level"),
    ("deep_nesting", "def f(x):\n    return " + "(" * 50 + "x" + ")" * 50 + ".sum(-1)", None, None),
    ("deeply_nested_expression", "def f(x):\n    return " + "-" * 50000 + "x", LLMCodeRefused, "nested too deeply"),
    ("syntax_error", "def f(x)\n    return x", LLMCodeRefused, "syntax error on line 1"),
    ("missing_entry", "def g(x):\n    return x", LLMCodeRefused, "top-level function `f`; functions found: g"),
    ("not_a_string", None, LLMCodeRefused, "source text"),
    ("default_argument_call", "import torch\ndef f(x, y=torch.zeros(3)):\n    return x.sum(-1)", LLMCodeRefused, "default values"),
    ("annotation_never_runs", "import torch\ndef f(x: torch.zeros(10**12)) -> torch.ones(10**12):\n    return x.sum(-1)", None, None),
    ("string_of_a_tensor", "def f(x):\n    s = str(x) + f'{x}' + str(x.numpy())\n    return x.sum(-1)", None, None),
    # Modules and names.
    ("import_os", "import os\ndef f(x):\n    return os.system('touch pwned')", LLMCodeRefused, "module 'os' is not allowed"),
    ("from_os_import", "from os import system\ndef f(x):\n    return x", LLMCodeRefused, "module 'os'"),
    ("import_in_function", "def f(x):\n    import subprocess\n    return x", LLMCodeRefused, "'subprocess'"),
    ("relative_import", "from . import secrets\ndef f(x):\n    return x", LLMCodeRefused, "not allowed"),
    ("import_torch_utils", "import torch.utils\ndef f(x):\n    return x", LLMCodeRefused, "'torch.utils'"),
    ("from_torch_import_load", "from torch import load\ndef f(x):\n    return x", LLMCodeRefused, "'load' from 'torch'"),
    ("import_star", "from torch import *\ndef f(x):\n    return x", LLMCodeRefused, "`import *`"),
    ("dunder_import", "def f(x):\n    return __import__('os').system('touch pwned')", LLMCodeRefused, "__import__"),
    ("dunder_builtins", "def f(x):\n    return __builtins__", LLMCodeRefused, "`__builtins__`"),
    ("eval", "def f(x):\n    return eval('1+1')", LLMCodeRefused, "`eval` is not allowed"),
    ("exec", "def f(x):\n    exec('import os')\n    return x", LLMCodeRefused, "`exec`"),
    ("compile", "def f(x):\n    return compile('1', 'a', 'eval')", LLMCodeRefused, "`compile`"),
    ("open_write", "def f(x):\n    open('pwned.txt', 'w').write('x')\n    return x", LLMCodeRefused, "`open`"),
    ("getattr", "def f(x):\n    return getattr(x, 'tofile')", LLMCodeRefused, "`getattr`"),
    ("type_call", "def f(x):\n    return type(x)", LLMCodeRefused, "`type`"),
    ("object_name", "def f(x):\n    return object", LLMCodeRefused, "`object`"),
    ("globals", "def f(x):\n    return globals()", LLMCodeRefused, "`globals`"),
    ("vars", "def f(x):\n    return vars()", LLMCodeRefused, "`vars`"),
    ("breakpoint", "def f(x):\n    breakpoint()\n    return x", LLMCodeRefused, "`breakpoint`"),
    ("raise_system_exit", "def f(x):\n    raise SystemExit(0)", LLMCodeRefused, "`SystemExit`"),
    ("private_name", "def f(x):\n    _hidden = 1\n    return x", LLMCodeRefused, "`_hidden`"),
    # Attributes: only listed names, and at run time only those of the object's kind.
    ("subclasses_walk", "def f(x):\n    return ().__class__.__bases__[0].__subclasses__()", LLMCodeRefused, "`.__class__`"),
    ("reduce_ex", "import torch\ndef f(x):\n    return torch.no_grad().__reduce_ex__(2)", LLMCodeRefused, "`.__reduce_ex__`"),
    ("print_self", "def f(x):\n    return print.__self__", LLMCodeRefused, "`.__self__`"),
    ("function_globals", "def f(x):\n    return f.__globals__", LLMCodeRefused, "`.__globals__`"),
    ("fstring_dunder", "def f(x):\n    return f'{x.__class__}'", LLMCodeRefused, "`.__class__`"),
    ("format_walk", "def f(x):\n    return '{0.__class__}'.format(x)", LLMCodeRefused, "`.format`"),
    ("torch_load", "import torch\ndef f(x):\n    return torch.load('w.pt')", LLMCodeRefused, "`.load`"),
    ("torch_save", "import torch\ndef f(x):\n    torch.save(x, 'pwned.pt')\n    return x", LLMCodeRefused, "`.save`"),
    ("torch_hub", "import torch\ndef f(x):\n    return torch.hub.load('a', 'b')", LLMCodeRefused, "`.hub`"),
    ("torch_from_file", "import torch\ndef f(x):\n    return torch.from_file('pwned', True, 8)", LLMCodeRefused, "`.from_file`"),
    ("torch_utils", "import torch\ndef f(x):\n    return torch.utils.data", LLMCodeRefused, "`.utils`"),
    ("torch_ops", "import torch\ndef f(x):\n    return torch.ops.aten", LLMCodeRefused, "`.ops`"),
    ("numpy_load", "import numpy as np\ndef f(x):\n    return np.load('a.npy')", LLMCodeRefused, "`.load`"),
    ("numpy_fromfile", "import numpy as np\ndef f(x):\n    return np.fromfile('a.bin')", LLMCodeRefused, "`.fromfile`"),
    ("numpy_memmap", "import numpy as np\ndef f(x):\n    return np.memmap('pwned.dat', mode='w+', shape=(3,))", LLMCodeRefused, "`.memmap`"),
    ("numpy_ctypeslib", "import numpy as np\ndef f(x):\n    return np.ctypeslib", LLMCodeRefused, "`.ctypeslib`"),
    ("numpy_random_seed", "import numpy as np\ndef f(x):\n    np.random.seed(0)\n    return x", LLMCodeRefused, "`.random`"),
    ("tofile", "def f(x):\n    x.numpy().tofile('pwned.bin')\n    return x", LLMCodeRefused, "`.tofile`"),
    ("pickle_dump", "def f(x):\n    x.numpy().dump('pwned.pkl')\n    return x", LLMCodeRefused, "`.dump`"),
    ("ndarray_base", "def f(x):\n    return x.numpy().base", LLMCodeRefused, "`.base`"),
    ("ndarray_ctypes", "def f(x):\n    return x.numpy().ctypes", LLMCodeRefused, "`.ctypes`"),
    ("gi_frame_walk", "def f(x):\n    g = (i for i in range(3))\n    return g.gi_frame.f_back.f_globals", LLMCodeRefused, "`.gi_frame`"),
    ("as_strided", "def f(x):\n    return x.as_strided((100000,), (1,))", LLMCodeRefused, "`.as_strided`"),
    ("untyped_storage", "def f(x):\n    return x.untyped_storage()", LLMCodeRefused, "`.untyped_storage`"),
    ("set_storage", "import torch\ndef f(x):\n    return x.set_(torch.zeros(1))", LLMCodeRefused, "`.set_`"),
    ("data_ptr", "def f(x):\n    return x.data_ptr()", LLMCodeRefused, "`.data_ptr`"),
    ("register_hook", "def f(x):\n    return x.register_hook(print)", LLMCodeRefused, "`.register_hook`"),
    ("manual_seed", "import torch\ndef f(x):\n    torch.manual_seed(0)\n    return x", LLMCodeRefused, "`.manual_seed`"),
    ("set_num_threads", "import torch\ndef f(x):\n    torch.set_num_threads(64)\n    return x", LLMCodeRefused, "`.set_num_threads`"),
    ("attribute_assignment", "import torch\ndef f(x):\n    torch.zeros = None\n    return x", LLMCodeRefused, "assigning to or deleting"),
    ("attribute_delete", "import torch\ndef f(x):\n    del torch.zeros\n    return x", LLMCodeRefused, "assigning to or deleting"),
    ("alias_proxy_unlisted", "import torch\ndef f(x):\n    t = torch\n    return t.get_rng_state()", LLMCodeRefused, "`.get_rng_state`"),
    ("kind_mismatch_module", "import torch\ndef f(x):\n    return torch.numpy", LLMCodeFailed, "`.numpy` of a module torch"),
    ("kind_mismatch_function", "import torch\ndef f(x):\n    return torch.sqrt.real", LLMCodeFailed, "`.real` of a builtin_function"),
    ("kind_mismatch_context", "import torch\ndef f(x):\n    return torch.no_grad().values", LLMCodeFailed, "`.values` of a no_grad"),
    ("kind_mismatch_result", "def f(x):\n    return x.max(dim=0).numpy()", LLMCodeFailed, "`.numpy` of a named result"),
    ("kind_mismatch_exception", "def f(x):\n    try:\n        1 / 0\n    except ZeroDivisionError as e:\n        return e.real",
     LLMCodeFailed, "`.real` of a ZeroDivisionError"),
    # Object arrays: their memory read as integers would be pointers (the reviewed escape after `match`).
    ("ndarray_over_a_buffer", "import numpy as np\ndef f(x):\n    a = np.array([x, None], dtype='O')\n"
     "    return np.ndarray((2,), dtype='i8', buffer=a)", LLMCodeFailed, "np.ndarray(...) is not allowed"),
    ("dtype_constructor", "import numpy as np\ndef f(x):\n    return np.dtype('O')", LLMCodeFailed, "np.dtype(...) is not allowed"),
    ("object_array_methods", "import numpy as np\ndef f(x):\n    return np.array([len, print]).tolist()", LLMCodeFailed,
     "dtype=object"),
    ("isinstance_still_works", "import numpy as np\ndef f(x):\n    return x.sum(-1) + float(isinstance(x.numpy(), np.ndarray)) - 1",
     None, None),
    # Resources: time and memory, also in single C-level calls and augmented assignments.
    ("infinite_loop", "def f(x):\n    while True:\n        pass", LLMCodeFailed, "time limit"),
    ("loop_swallows_errors", "def f(x):\n    while True:\n        try:\n            y = 1\n        except:\n            pass",
     LLMCodeFailed, "time limit"),
    ("finally_loop", "def f(x):\n    try:\n        while True:\n            pass\n    finally:\n        return x.sum(-1)",
     LLMCodeFailed, "time limit"),
    ("huge_power", "def f(x):\n    return 10**10**10", LLMCodeRefused, "nested powers"),
    ("huge_exponent", "def f(x):\n    return 7**123456789", LLMCodeRefused, "too large"),
    ("runtime_power", "def f(x):\n    n = 10\n    m = n ** 9\n    return 7 ** m", LLMCodeFailed, "time limit"),
    ("augmented_power", "def f(x):\n    n = 7\n    n **= 10 ** 9\n    return x.sum(-1)", LLMCodeFailed, "time limit"),
    ("augmented_shift", "def f(x):\n    n = 1\n    n <<= 30000000000\n    return x.sum(-1)", LLMCodeFailed, "memory"),
    ("augmented_repeat", "def f(x):\n    s = [0]\n    s *= 3 * 10**8\n    return x.sum(-1)", LLMCodeFailed, "memory"),
    ("huge_list", "def f(x):\n    n = 10\n    return [0] * n ** 9", LLMCodeFailed, "memory"),
    ("huge_string", "def f(x):\n    return 'a' * (4 * 10**9)", LLMCodeFailed, "memory"),
    ("huge_tensor", "import torch\ndef f(x):\n    return torch.ones(10**6, 10**4).sum(-1)", LLMCodeFailed, "memory"),
    ("sum_of_lists", "def f(x):\n    rows = [[0] * 1000 for i in range(100000)]\n    return sum(rows, [])", LLMCodeFailed, ""),
    ("prod_of_range", "import math\ndef f(x):\n    return math.prod(range(1, 300000))", LLMCodeFailed, "time limit"),
    ("factorial", "import math\ndef f(x):\n    return math.factorial(10**8)", LLMCodeFailed, "time limit"),
    ("chained_matmul", "import torch\ndef f(x):\n    a = torch.ones(6000, 6000)\n    for i in range(50):\n        a = a @ a\n"
     "    return x.sum(-1)", LLMCodeFailed, "time limit"),
    ("extend_self", "def f(x):\n    s = [1]\n    s.extend(iter(s))\n    return x.sum(-1)", LLMCodeFailed, ""),
    ("iter_sentinel", "def f(x):\n    return sum(iter(int, 1))", LLMCodeFailed, "time limit"),
    ("huge_range", "def f(x):\n    return sum(range(10**12))", LLMCodeFailed, "time limit"),
    ("recursion", "def f(x):\n    return f(x)", LLMCodeFailed, "RecursionError"),
    ("zero_division", "def f(x):\n    a = 1\n    b = 0\n    return a / b", LLMCodeFailed, "line 4, in f: return a / b"),
    # Outputs: checked on every call.
    ("nan_output", "import torch\ndef f(x):\n    return torch.full((4,), float('nan'))", LLMCodeFailed, "NaN or infinite"),
    ("inf_output", "import torch\ndef f(x):\n    return torch.full((4,), float('inf'))", LLMCodeFailed, "NaN or infinite"),
    ("huge_output", "import torch\ndef f(x):\n    return torch.full((4,), 1e30)", LLMCodeFailed, "above the limit"),
    ("wrong_shape", "import torch\ndef f(x):\n    return torch.zeros(4, 2)", LLMCodeFailed, "must have shape (4)"),
    ("non_tensor_output", "def f(x):\n    return [1.0, 2.0]", LLMCodeFailed, "must be a torch.Tensor"),
    ("integer_output", "import torch\ndef f(x):\n    return torch.zeros(4, dtype=torch.int64)", LLMCodeFailed, "floating-point"),
    ("function_output", "def f(x):\n    return f", LLMCodeFailed, "cannot be"),
    ("int_beyond_64_bits", "def f(x):\n    return 2**63", LLMCodeFailed, "beyond 64 bits"),
    ("int64_min_magnitude", "import torch\ndef f(x):\n    return torch.tensor([-2**63] * 4)", LLMCodeFailed, "above the limit"),
    ("module_output", "import torch\ndef f(x):\n    return torch", LLMCodeFailed, "cannot be"),
    ("object_array_output", "import numpy as np\ndef f(x):\n    return np.array([x], dtype=np.ndarray)", LLMCodeFailed, ""),
    ("deep_output", "def f(x):\n    y = x.sum(-1)\n    for i in range(100):\n        y = [y]\n    return y", LLMCodeFailed, ""),
    ("giant_string_output", "def f(x):\n    return 'a' * 10**7", LLMCodeFailed, ""),
]


@pytest.mark.parametrize("source,expected,text", [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_code_is_refused_or_contained(source, expected, text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # any file a snippet managed to write would land here
    x = torch.ones(4, 3)
    if expected is None:  # legitimate, if odd: must simply work
        function = compile_llm_function(source, "f", time_limit_s=0.5)
        assert torch.equal(function(x), torch.full((4,), 3.0))
        return
    with pytest.raises(expected) as caught:
        function = compile_llm_function(source, "f", time_limit_s=0.5, memory_limit_mb=512, validate=_float_tensor_of_batch)
        function(x)
    assert text in str(caught.value), str(caught.value)
    assert list(tmp_path.iterdir()) == [], "hostile code created a file"
    assert torch.equal(x, torch.ones(4, 3)), "the caller's tensor was modified"


def test_enough_distinct_hostile_snippets():
    assert len({source for _, source, _, _ in HOSTILE}) >= 60


def test_refusal_lists_every_problem_with_its_line():
    source = "import os\nimport torch\ndef f(x):\n    y = eval('1')\n    return torch.load(y)\n"
    with pytest.raises(LLMCodeRefused) as caught:
        compile_llm_function(source, "f")
    message = str(caught.value)
    assert "line 1: `import os`" in message
    assert "line 4:" in message and "`eval`" in message
    assert "line 5:" in message and "`.load`" in message


@pytest.mark.parametrize("body", ["x += 1", "x[:, 0] = 0", "x.add_(1)", "v = x[0]\n    v.mul_(2)", "a = x.numpy()\n    a[0, 0] = 5.0",
                                  "x.requires_grad_()", "state['pos'].zero_()"])
def test_inputs_never_change(body):
    source = f"def f(x, state):\n    {body}\n    return x.sum(-1)"
    function = compile_llm_function(source, "f")
    x, pos = torch.ones(4, 3), torch.ones(3)
    for _ in range(5):  # every call is the same: there is no later, unwatched call
        function(x, {"pos": pos})
    assert torch.equal(x, torch.ones(4, 3)) and torch.equal(pos, torch.ones(3))
    assert not x.requires_grad and x.grad_fn is None


def test_numpy_inputs_are_copies():
    function = compile_llm_function("def f(obs):\n    obs[:, 0] = 0\n    return obs", "f")
    obs = np.ones((2, 3))
    assert (function(obs)[:, 0] == 0).all()
    assert (obs == 1).all()


def test_outputs_are_fresh_tensors_without_history():
    function = compile_llm_function("def f(x):\n    return x", "f")
    x = torch.ones(3, requires_grad=True)
    out = function(x)
    assert out.grad_fn is None and not out.requires_grad
    out.add_(1)
    assert torch.equal(x.detach(), torch.ones(3))


def test_calls_cannot_tell_each_other_apart():
    """Code that counts its calls and misbehaves later is caught on the call where it misbehaves."""
    source = "import torch\nCALLS = []\ndef f(x):\n    CALLS.append(1)\n    if len(CALLS) > 3:\n        return x.sum(-1) * 1e30\n    return x.sum(-1)"
    function = compile_llm_function(source, "f")
    for _ in range(3):
        function(torch.ones(4, 3))
    with pytest.raises(LLMCodeFailed, match="above the limit"):
        function(torch.ones(4, 3))


def test_a_worker_that_timed_out_is_replaced_on_the_next_call():
    source = "def f(n):\n    total = 0\n    for i in range(n):\n        total += i\n    return total"
    function = compile_llm_function(source, "f", time_limit_s=0.5)
    with pytest.raises(LLMCodeFailed, match="time limit"):
        function(10**10)
    assert [function(10) for _ in range(3)] == [45] * 3
    assert function.calls == 4


def test_timeout_inside_no_grad_leaves_the_caller_grad_mode_alone():
    source = "import torch\ndef f(x):\n    with torch.no_grad():\n        while True:\n            x = x + 1\n"
    function = compile_llm_function(source, "f", time_limit_s=0.3)
    with pytest.raises(LLMCodeFailed, match="time limit"):
        function(torch.ones(2))
    assert torch.is_grad_enabled()


def test_max_abs_is_configurable():
    source = "def f(x):\n    return x * 1e7"
    with pytest.raises(LLMCodeFailed, match="above the limit of 1e\\+06"):
        compile_llm_function(source, "f")(torch.ones(2))
    assert float(compile_llm_function(source, "f", max_abs=None)(torch.ones(2)).max()) == 1e7


# ------------------------------------------------------------------------------------------------
# Legitimate code in the styles LLMs really produce: runs unchanged and matches direct execution.
# ------------------------------------------------------------------------------------------------
EUREKA_STYLE = '''
import torch
from typing import Tuple, Dict

@torch.jit.script
def compute_reward(object_pos: torch.Tensor, object_rot: torch.Tensor, goal_pos: torch.Tensor, goal_rot: torch.Tensor,
                   fingertip_pos: torch.Tensor) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
    """Reward for moving the object to the goal pose."""
    # Temperatures for the exponential terms
    dist_temp: float = 0.1
    rot_temp: float = 0.5

    dist = torch.norm(object_pos - goal_pos, p=2, dim=-1)
    dist_reward = torch.exp(-dist / dist_temp)

    # quaternion difference (x, y, z, w)
    q = goal_rot * torch.tensor([-1.0, -1.0, -1.0, 1.0], device=goal_rot.device)
    x1, y1, z1, w1 = object_rot[:, 0], object_rot[:, 1], object_rot[:, 2], object_rot[:, 3]
    x2, y2, z2, w2 = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    qx = w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2
    qy = w1 * y2 + y1 * w2 + z1 * x2 - x1 * z2
    qz = w1 * z2 + z1 * w2 + x1 * y2 - y1 * x2
    rot_dist = 2.0 * torch.asin(torch.clamp(torch.sqrt(qx ** 2 + qy ** 2 + qz ** 2), max=1.0))
    rot_reward = torch.exp(-rot_dist / rot_temp)

    finger_dist = torch.norm(fingertip_pos - object_pos.unsqueeze(1), dim=-1).mean(dim=-1)
    grasp_reward = 1.0 / (1.0 + finger_dist)

    total_reward = dist_reward + 0.5 * rot_reward + 0.2 * grasp_reward
    reward_components: Dict[str, torch.Tensor] = {
        "dist_reward": dist_reward,
        "rot_reward": rot_reward,
        "grasp_reward": grasp_reward,
    }
    return total_reward, reward_components
'''

PROGRESS_STYLE = '''
from __future__ import annotations
import torch
import math
from typing import List, Tuple

GRASP_RADIUS = 0.05


def compute_progress(left_fingertip_pos, right_fingertip_pos, object_pos, goal_pos) -> Tuple[List[torch.Tensor], List[int]]:
    # Sub-task 1: both hands near the object; sub-task 2: object close to the goal.
    left = torch.linalg.norm(left_fingertip_pos - object_pos[:, None, :], dim=-1).min(dim=-1).values
    right = torch.linalg.norm(right_fingertip_pos - object_pos[:, None, :], dim=-1).min(dim=-1).values
    hands_near = torch.maximum(left, right) - GRASP_RADIUS
    to_goal = torch.norm(goal_pos - object_pos, dim=-1)
    angle = torch.atan2(goal_pos[:, 1] - object_pos[:, 1], goal_pos[:, 0] - object_pos[:, 0]) / math.pi
    return [hands_near, to_goal, angle], [-1, -1, 1]
'''

LARE_STYLE = '''
import numpy as np

def evaluation_func(observation, action):
    """Factors of the latent reward for a hopper-like robot."""
    batch = observation.shape[0]
    height = observation[:, 0:1]
    uprightness = np.cos(observation[:, 1:2])
    forward_velocity = observation[:, 5].reshape(batch, 1)
    control_cost = np.sum(np.square(action), axis=1, keepdims=True)
    joint_speed = np.linalg.norm(observation[:, 6:], axis=1).reshape(-1, 1)
    healthy = ((height > 0.7) & (np.abs(observation[:, 1:2]) < 0.2)).astype(np.float32)
    return [height, uprightness, forward_velocity, -control_cost, -joint_speed / (1.0 + 1e-6), healthy]
'''

HELPERS_STYLE = '''
"""Reward with helper functions and module constants."""
import torch
import torch.nn.functional as F

SUCCESS_TOLERANCE = 0.1
WEIGHTS = {"reach": 1.0, "lift": 2.0, "success": 10.0}


def reach_term(hand_pos: torch.Tensor, object_pos: torch.Tensor) -> torch.Tensor:
    return torch.exp(-5.0 * torch.norm(hand_pos - object_pos, dim=-1))


def lift_term(object_pos: torch.Tensor, table_height: float) -> torch.Tensor:
    return F.softplus(object_pos[:, 2] - table_height) - F.softplus(torch.zeros_like(object_pos[:, 2]))


def compute_reward(hand_pos, object_pos, goal_pos, progress_buf):
    success = (torch.norm(object_pos - goal_pos, dim=-1) < SUCCESS_TOLERANCE).float()
    terms = {
        "reach": reach_term(hand_pos, object_pos),
        "lift": lift_term(object_pos, 0.4),
        "success": success,
    }
    total = sum(WEIGHTS[name] * value for name, value in terms.items())
    total = total - 0.001 * progress_buf.float()
    return total, terms
'''

NO_GRAD_STYLE = '''
import torch
import torch.nn.functional as F
from torch import Tensor


def compute_reward(object_linvel: Tensor, object_pos: Tensor, goal_pos: Tensor):
    with torch.no_grad():
        direction = F.normalize(goal_pos - object_pos, dim=-1)
        velocity_toward_goal = (object_linvel * direction).sum(dim=-1)
        speed = torch.linalg.vector_norm(object_linvel, dim=-1)
        alignment = F.cosine_similarity(object_linvel + 1e-8, direction, dim=-1)
        rewards = []
        for scale in [0.5, 1.0, 2.0]:
            rewards.append(torch.tanh(scale * velocity_toward_goal))
        reward = torch.stack(rewards, dim=0).mean(dim=0) + 0.1 * alignment - 0.01 * speed ** 2
        reward = torch.where(torch.isfinite(reward), reward, torch.zeros_like(reward))
    return reward, {"velocity_toward_goal": velocity_toward_goal, "alignment": alignment}
'''


def _state(batch: int = 8) -> dict:
    generator = torch.Generator().manual_seed(0)

    def rand(*shape):
        return torch.randn(batch, *shape, generator=generator)

    rot = rand(4)
    return {
        "object_pos": rand(3), "object_rot": rot / rot.norm(dim=-1, keepdim=True), "goal_pos": rand(3),
        "goal_rot": torch.nn.functional.normalize(rand(4), dim=-1), "fingertip_pos": rand(5, 3), "hand_pos": rand(3),
        "left_fingertip_pos": rand(5, 3), "right_fingertip_pos": rand(5, 3), "object_linvel": rand(3),
        "progress_buf": torch.arange(batch),
    }


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and torch.allclose(a, b, rtol=1e-6, atol=1e-7)
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and np.allclose(a, b, rtol=1e-6, atol=1e-7)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _direct(source: str, entry: str):
    # Trusted test code: the reference result. TorchScript needs a source file, so run the function eagerly,
    # which is what the safe runner does too.
    namespace: dict = {"__name__": "direct_reference"}
    exec(textwrap.dedent(source).replace("@torch.jit.script\n", ""), namespace)
    return namespace[entry]


@pytest.mark.parametrize(
    "source,entry",
    [(EUREKA_STYLE, "compute_reward"), (PROGRESS_STYLE, "compute_progress"), (HELPERS_STYLE, "compute_reward"),
     (NO_GRAD_STYLE, "compute_reward")],
    ids=["eureka_jit_script", "progresscounts_lists", "helpers_and_constants", "no_grad_block"],
)
def test_legitimate_torch_code_matches_direct_execution(source, entry):
    function = compile_llm_function(source, entry)
    assert isinstance(function, SafeFunction)
    state = _state()
    kwargs = {name: state[name] for name in function.parameters}
    before = {k: v.clone() for k, v in kwargs.items()}
    expected = _direct(source, entry)(**kwargs)
    for _ in range(5):  # checked calls and untraced calls alike
        assert _same(function(**kwargs), expected)
    assert all(torch.equal(kwargs[k], before[k]) for k in kwargs)


def test_lare_numpy_factor_function_matches_direct_execution():
    def validate(factors):
        if not (isinstance(factors, list) and all(isinstance(f, np.ndarray) and f.shape == (16, 1) for f in factors)):
            raise ValueError("evaluation_func must return a list of arrays shaped (batch, 1)")

    function = compile_llm_function(LARE_STYLE, "evaluation_func", validate=validate)
    assert function.parameters == ["observation", "action"]
    rng = np.random.default_rng(0)
    observation, action = rng.normal(size=(16, 11)), rng.normal(size=(16, 3))
    expected = _direct(LARE_STYLE, "evaluation_func")(observation, action)
    for _ in range(5):
        assert _same(function(observation, action), expected)


def test_eureka_positional_call_and_validation_of_dict_output():
    def validate(output):
        reward, components = output
        check_tensor(reward, "total_reward", shape=(None,))
        for name, value in components.items():
            check_tensor(value, name, shape=reward.shape)

    function = compile_llm_function(EUREKA_STYLE, "compute_reward", validate=validate)
    state = _state(batch=3)
    reward, components = function(*(state[name] for name in function.parameters))
    assert reward.shape == (3,) and set(components) == {"dist_reward", "rot_reward", "grasp_reward"}


def test_library_functions_are_callable_by_name_and_stay_trusted():
    def double(x):
        return x * 2

    source = "def compute(x):\n    return double(x) + 1\n"
    fn = compile_llm_function(source, "compute", library={"double": double})
    x = torch.ones(3)
    for _ in range(4):  # checked and fast calls
        assert torch.equal(fn(x), torch.full((3,), 3.0))
    with pytest.raises(LLMCodeRefused):  # the library does not open a way to private attributes
        compile_llm_function("def compute(x):\n    return double.__globals__\n", "compute", library={"double": double})
    with pytest.raises(ValueError):
        compile_llm_function(source, "compute", library={"_hidden": double})


def test_torch_math_and_numpy_are_usable_without_import_but_only_as_proxies():
    fn = compile_llm_function("def f(x):\n    return torch.sqrt(x) + math.pi + float(np.pi)\n", "f")
    assert torch.allclose(fn(torch.tensor([4.0])), torch.tensor([2.0 + 2 * math.pi]))
    with pytest.raises(LLMCodeFailed, match="`.numpy` of a module torch"):  # the pre-bound name is the proxy
        compile_llm_function("def f(x):\n    t = torch\n    return t.numpy\n", "f")(torch.zeros(1))
