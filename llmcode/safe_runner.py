"""Run LLM-written Python (reward, progress and factor functions) without trusting it.

LLM code is untrusted input: it only runs through `compile_llm_function`, which

1. parses the source and refuses, before anything runs, every construct outside an allow-list
   (imports other than math/typing/numpy/torch math modules, names or attributes starting with `_`,
   `eval`/`exec`/`getattr`/`open`..., file/pickle/raw-memory/frame-walking attribute names, classes,
   `global`, `yield`, `async`, decorators other than `@torch.jit.script`, which is stripped and the
   function run eagerly);
2. compiles once and runs in-process against read-only proxy modules that hold only allow-listed
   attributes, a restricted `__builtins__` and an import hook that only hands out those proxies;
3. runs the first `checked_calls` calls under a `sys.settrace` deadline (an endless Python loop stops
   with `LLMCodeFailed`) on clones of the inputs, and later calls untraced for speed;
4. checks that the inputs were not modified in place (tensor version counters on every call, values on
   the checked calls) and applies an optional `validate` callable to every return value.

Refusals raise `LLMCodeRefused` and run-time problems `LLMCodeFailed`; `str(error)` is written to be sent
back to the LLM: what went wrong, on which line of its code, and what to do instead.

Limits, said plainly. This is an in-process guard against careless or adversarial *generated code*, not
an operating-system sandbox. The time limit works between Python-level events, so a single C-level call
cannot be interrupted: the obvious ones are bounded (always: `range` capped at 10**7 elements, one-argument
`iter`, `math.factorial`/`comb`/`perm` up to 10**4; on the checked calls: integer `**`, `*` and `<<` refuse
results above ~10**5 bits and sequence repetition above 10**7 items; statically: constant exponents above
10**4 and nested powers `a ** b ** c`). Allocating and filling a huge tensor or string (e.g. a giant format
width) is bounded only by the allocator raising an out-of-memory error. After the checked calls there is
no time limit and no arithmetic guard: they are for speed, on code that already passed. In-place writes to
an input that bypass the tensor version counter (through `.numpy()` on a CPU tensor) are only caught on
the checked calls (by comparing values).
"""

from __future__ import annotations

import ast
import copy
import math
import sys
import time
import types
import typing
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional

from llmcode import allowlist

LLM_FILENAME = "<llm-code>"
MAX_RANGE_LENGTH = 10**7
MAX_INT_BITS = 100_000
MAX_SEQUENCE_REPEAT = 10**7
MAX_MATH_ARGUMENT = 10**4
MAX_CONSTANT_EXPONENT = 10_000


class LLMCodeError(Exception):
    """Base class; `str(error)` is text meant to be fed back to the LLM."""


class LLMCodeRefused(LLMCodeError):
    """The code was refused before running: syntax error, forbidden construct, missing entry function."""


class LLMCodeFailed(LLMCodeError):
    """The code ran and failed: an exception, the time limit, an invalid output, or a modified input."""


class _TimeLimitExceeded(BaseException):
    # A BaseException so that `except Exception:` in the LLM code cannot swallow it (bare `except:` is refused).
    pass


# ----------------------------------------------------------------------------------------------------
# Proxies and builtins: what the LLM code sees instead of the real modules.
# ----------------------------------------------------------------------------------------------------
class ModuleProxy:
    """A read-only namespace with only the allow-listed attributes of one module."""

    def __init__(self, name: str, attributes: dict[str, Any]):
        object.__setattr__(self, "_proxy_name", name)
        for key, value in attributes.items():
            object.__setattr__(self, key, value)

    def __getattr__(self, key: str) -> Any:  # only called when the attribute is missing
        raise AttributeError(f"`{self._proxy_name}.{key}` is not allowed in this code (not on the allow-list)")

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"`{self._proxy_name}` is read-only")

    def __repr__(self) -> str:
        return f"<allowed part of module {self._proxy_name}>"


def _pick(module: Any, names: frozenset[str]) -> dict[str, Any]:
    return {name: getattr(module, name) for name in sorted(names) if hasattr(module, name)}


def _bounded_math(name: str) -> Callable[..., Any]:
    function = getattr(math, name)

    def bounded(*args: Any) -> Any:
        if any(isinstance(a, int) and abs(a) > MAX_MATH_ARGUMENT for a in args):
            raise ValueError(f"math.{name} is limited to arguments up to {MAX_MATH_ARGUMENT} here")
        return function(*args)

    bounded.__name__ = name
    return bounded


def build_proxies() -> dict[str, ModuleProxy]:
    """The proxy for every allowed module name, e.g. `"torch.nn.functional"` -> proxy of F."""
    functional = ModuleProxy("torch.nn.functional", _pick(torch.nn.functional, allowlist.TORCH_FUNCTIONAL_NAMES))
    nn = ModuleProxy("torch.nn", {"functional": functional})
    linalg = ModuleProxy("torch.linalg", _pick(torch.linalg, allowlist.TORCH_LINALG_NAMES))
    special = ModuleProxy("torch.special", _pick(torch.special, allowlist.TORCH_SPECIAL_NAMES))
    torch_proxy = ModuleProxy("torch", {**_pick(torch, allowlist.TORCH_NAMES), "nn": nn, "linalg": linalg, "special": special})
    np_linalg = ModuleProxy("numpy.linalg", _pick(np.linalg, allowlist.NUMPY_LINALG_NAMES))
    np_proxy = ModuleProxy("numpy", {**_pick(np, allowlist.NUMPY_NAMES - {"linalg"}), "linalg": np_linalg})
    math_names = {n: getattr(math, n) for n in dir(math) if not n.startswith("_")}
    math_names.update({n: _bounded_math(n) for n in allowlist.MATH_BOUNDED_FUNCTIONS if n in math_names})
    return {
        "math": ModuleProxy("math", math_names),
        "typing": ModuleProxy("typing", _pick(typing, allowlist.TYPING_NAMES)),
        "numpy": np_proxy,
        "numpy.linalg": np_linalg,
        "torch": torch_proxy,
        "torch.nn": nn,
        "torch.nn.functional": functional,
        "torch.linalg": linalg,
        "torch.special": special,
    }


PROXIES = build_proxies()
PRE_IMPORTED = {"torch": PROXIES["torch"], "math": PROXIES["math"], "np": PROXIES["numpy"], "numpy": PROXIES["numpy"]}


def _restricted_import(name: str, globals_=None, locals_=None, fromlist=(), level: int = 0) -> Any:
    if isinstance(fromlist, list):
        # Not an `import` statement (those pass None or a tuple) but C code of torch/numpy calling PyImport_Import
        # while an LLM frame is current (e.g. `torch.tensor` needs `torch.storage`): hand over modules that are
        # already loaded, never load a new one.
        if name in sys.modules:
            return sys.modules[name]
        raise ImportError(f"import of '{name}' is not allowed here")
    if level != 0 or name not in PROXIES:
        raise ImportError(f"import of '{name}' is not allowed; allowed modules: {', '.join(allowlist.ALLOWED_MODULES)}")
    # `import a.b.c` binds the top-level package; `from a.b import c` and `import a.b as x` need the module itself.
    return PROXIES[name] if fromlist else PROXIES[name.split(".")[0]]


def _safe_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE_LENGTH:
        raise ValueError(f"range() is limited to {MAX_RANGE_LENGTH} elements here; use tensor operations for large data")
    return numbers


def _check_int_size(bits: int, operation: str) -> None:
    if bits > MAX_INT_BITS:
        raise OverflowError(f"integer result of `{operation}` would be too large (about {bits} bits)")


_SEQUENCE_TYPES = (str, bytes, list, tuple)


def _safe_mul(a: Any, b: Any) -> Any:
    # Inserted for every `*` in the LLM code: tensors pass after two type checks, giant Python values are refused.
    type_a, type_b = type(a), type(b)
    if type_a is int and type_b is int:
        _check_int_size(a.bit_length() + b.bit_length(), "*")
    elif (type_a is int and isinstance(b, _SEQUENCE_TYPES)) or (type_b is int and isinstance(a, _SEQUENCE_TYPES)):
        count, sequence = (a, b) if type_a is int else (b, a)
        if count * len(sequence) > MAX_SEQUENCE_REPEAT:
            raise OverflowError(f"sequence repetition is limited to {MAX_SEQUENCE_REPEAT} items here")
    return a * b


def _safe_pow(a: Any, b: Any, modulo: Any = None) -> Any:
    if type(a) is int and type(b) is int and modulo is None and b > 0:
        _check_int_size(max(a.bit_length(), 1) * b, "**")
    return a**b if modulo is None else pow(a, b, modulo)


def _safe_lshift(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        _check_int_size(a.bit_length() + b, "<<")
    return a << b


def _safe_iter(iterable: Any) -> Any:
    # The two-argument form `iter(callable, sentinel)` can spin forever inside C code; only one argument here.
    return iter(iterable)


def build_builtins() -> dict[str, Any]:
    import builtins

    safe = {name: getattr(builtins, name) for name in allowlist.SAFE_BUILTIN_NAMES}
    safe.update(range=_safe_range, pow=_safe_pow, iter=_safe_iter, __import__=_restricted_import)
    return safe


# ----------------------------------------------------------------------------------------------------
# Static check: walk the syntax tree, collect every refusal with its line.
# ----------------------------------------------------------------------------------------------------
_REFUSED_NODES: dict[type, str] = {
    ast.ClassDef: "class definitions are not allowed; write plain functions",
    ast.Global: "`global` is not allowed; pass values as arguments and return results",
    ast.Nonlocal: "`nonlocal` is not allowed; return values instead",
    ast.Yield: "`yield` (generators) is not allowed; return a list or tensor",
    ast.YieldFrom: "`yield from` is not allowed; return a list or tensor",
    ast.AsyncFunctionDef: "`async def` is not allowed; write a plain function",
    ast.Await: "`await` is not allowed",
    ast.AsyncFor: "`async for` is not allowed",
    ast.AsyncWith: "`async with` is not allowed",
}


# Top-level assignments run at definition time, so they may only build constants (no calls, loops or lambdas).
_COMPUTING_NODES = (ast.Call, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _is_future_annotations(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.ImportFrom) and statement.module == "__future__" and all(
        alias.name == "annotations" for alias in statement.names)


def _dotted_name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted_name(node.value)}.{node.attr}"
    return "?"


def _is_constant_power(node: ast.AST) -> bool:
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow)


class _StaticChecker(ast.NodeVisitor):
    def __init__(self, lines: list[str]):
        self.lines = lines
        self.problems: list[str] = []

    def refuse(self, node: ast.AST, why: str) -> None:
        lineno = getattr(node, "lineno", 0)
        code = self.lines[lineno - 1].strip() if 0 < lineno <= len(self.lines) else ""
        self.problems.append(f"line {lineno}: `{code}`: {why}")

    def check_module(self, tree: ast.Module) -> None:
        tree.body = [s for s in tree.body if not _is_future_annotations(s)]  # harmless; dropped before checking
        for index, statement in enumerate(tree.body):
            if isinstance(statement, (ast.Import, ast.ImportFrom, ast.FunctionDef)):
                pass
            elif isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is not None:
                if any(isinstance(n, _COMPUTING_NODES) for n in ast.walk(statement.value)):
                    self.refuse(statement, "top-level assignments may only hold constants; compute values inside a function")
            elif index == 0 and isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
                pass  # module docstring
            else:
                self.refuse(statement, "only imports, function definitions and constant assignments are allowed at top level")
        self.visit(tree)

    def generic_visit(self, node: ast.AST) -> None:
        for node_type, why in _REFUSED_NODES.items():
            if isinstance(node, node_type):
                self.refuse(node, why)
        super().generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name not in allowlist.ALLOWED_MODULES:
                self.refuse(node, f"module '{alias.name}' is not allowed; allowed modules: {', '.join(allowlist.ALLOWED_MODULES)}")
            self.check_name(node, alias.asname or "")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level or module not in allowlist.ALLOWED_MODULES:
            self.refuse(node, f"module '{module}' is not allowed; allowed modules: {', '.join(allowlist.ALLOWED_MODULES)}")
            return
        for alias in node.names:
            if alias.name == "*":
                self.refuse(node, "`import *` is not allowed; import the names you use")
            elif not hasattr(PROXIES[module], alias.name) and f"{module}.{alias.name}" not in PROXIES:
                self.refuse(node, f"'{alias.name}' from '{module}' is not on the allow-list")
            self.check_name(node, alias.name)
            self.check_name(node, alias.asname or "")

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        for decorator in node.decorator_list:
            if _dotted_name(decorator) != "torch.jit.script":
                self.refuse(decorator, "decorators are not allowed (only @torch.jit.script, which is ignored)")
        self.check_name(node, node.name)
        arguments = node.args
        for argument in arguments.posonlyargs + arguments.args + arguments.kwonlyargs + [arguments.vararg, arguments.kwarg]:
            if argument is not None:
                self.check_name(argument, argument.arg)
        # Decorators were checked above; visit everything else (arguments, annotations, defaults, body).
        for child in [arguments, node.returns, *node.body]:
            if child is not None:
                self.visit(child)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for argument in node.args.posonlyargs + node.args.args + node.args.kwonlyargs:
            self.check_name(argument, argument.arg)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        self.check_name(node, node.id)
        if node.id in allowlist.FORBIDDEN_NAMES:
            self.refuse(node, f"`{node.id}` is not allowed in this code")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr.startswith("_"):
            self.refuse(node, f"attribute `.{node.attr}` is not allowed (names starting with '_' are private)")
        elif node.attr in allowlist.DENIED_ATTRIBUTES:
            self.refuse(node, f"attribute `.{node.attr}` is not allowed (file, memory, format or global-state access)")
        if not isinstance(node.ctx, ast.Load):
            self.refuse(node, "assigning to or deleting attributes is not allowed; use local variables")
        self.generic_visit(node)

    def visit_keyword(self, node: ast.keyword) -> None:
        if node.arg is not None:
            self.check_name(node, node.arg)
        self.generic_visit(node)

    def visit_Try(self, node: ast.Try) -> None:
        if node.finalbody:
            self.refuse(node, "`finally` is not allowed; use `except ...:`")
        for handler in node.handlers:
            if handler.type is None:
                self.refuse(handler, "bare `except:` is not allowed; catch a specific exception such as `except ValueError:`")
        self.generic_visit(node)

    visit_TryStar = visit_Try

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.Pow):
            exponent = node.right
            if _is_constant_power(exponent):
                self.refuse(node, "nested powers such as `a ** b ** c` are not allowed; compute step by step")
            elif isinstance(exponent, ast.Constant) and isinstance(exponent.value, int | float):
                if abs(exponent.value) > MAX_CONSTANT_EXPONENT:
                    self.refuse(node, f"exponent {exponent.value} is too large (limit {MAX_CONSTANT_EXPONENT})")
        self.generic_visit(node)

    def check_name(self, node: ast.AST, name: str) -> None:
        if name.startswith("_") and name != "_":
            self.refuse(node, f"name `{name}` is not allowed (names starting with '_' are private); rename it")


def _strip_jit_decorators(tree: ast.Module) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            node.decorator_list = [d for d in node.decorator_list if _dotted_name(d) != "torch.jit.script"]


class _GuardArithmetic(ast.NodeTransformer):
    """Route `*`, `**` and `<<` through the bounded helpers (their names start with `_`, so the LLM cannot shadow them)."""

    helpers = {ast.Mult: "_safe_mul", ast.Pow: "_safe_pow", ast.LShift: "_safe_lshift"}

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        helper = self.helpers.get(type(node.op))
        if helper is None:
            return node
        call = ast.Call(func=ast.Name(id=helper, ctx=ast.Load()), args=[node.left, node.right], keywords=[])
        return ast.copy_location(call, node)


def check_source(source: str) -> ast.Module:
    """Parse and statically check LLM code; return the tree or raise `LLMCodeRefused` listing every problem."""
    try:
        tree = ast.parse(source, filename=LLM_FILENAME)
    except SyntaxError as error:
        line = (error.text or "").strip()
        raise LLMCodeRefused(f"The code has a syntax error on line {error.lineno}: {error.msg}\n    {line}") from None
    checker = _StaticChecker(source.splitlines())
    checker.check_module(tree)
    if checker.problems:
        listed = "\n".join(f"  - {p}" for p in checker.problems[:20])
        raise LLMCodeRefused(
            "The code was refused by the safety check:\n"
            f"{listed}\n"
            "Allowed: imports of math, typing, numpy, torch (with torch.nn.functional, torch.linalg), plain functions, "
            "tensor math; not allowed: files, processes, network, eval/exec/getattr, names starting with '_'."
        )
    return tree


# ----------------------------------------------------------------------------------------------------
# Running: time limit, input protection, readable failures.
# ----------------------------------------------------------------------------------------------------
def _format_failure(error: BaseException, source_lines: list[str], what: str) -> str:
    frames = []
    traceback = error.__traceback__
    while traceback is not None:
        code = traceback.tb_frame.f_code
        if code.co_filename == LLM_FILENAME:
            lineno = traceback.tb_lineno
            text = source_lines[lineno - 1].strip() if 0 < lineno <= len(source_lines) else ""
            frames.append(f"  line {lineno}, in {code.co_name}: {text}")
        traceback = traceback.tb_next
    text = str(error)
    text = text if len(text) <= 1000 else text[:1000] + " ..."
    message = f"{what} raised {type(error).__name__}: {text}"
    if len(frames) > 6:  # deep recursion: the first and last frames tell the story
        frames = frames[:2] + [f"  ... {len(frames) - 5} more frames ..."] + frames[-3:]
    if frames:
        message += "\nTraceback (your code only, most recent call last):\n" + "\n".join(frames)
    return message


class _Deadline:
    """A `sys.settrace` tracer that stops the LLM code once `time.perf_counter()` passes the deadline."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.deadline = time.perf_counter() + seconds
        self.where = ""

    def check(self, frame: types.FrameType) -> None:
        if time.perf_counter() > self.deadline:
            self.where = f"line {frame.f_lineno}, in {frame.f_code.co_name}"
            raise _TimeLimitExceeded()

    def local(self, frame: types.FrameType, event: str, arg: Any) -> Any:
        self.check(frame)
        return self.local

    def global_(self, frame: types.FrameType, event: str, arg: Any) -> Any:
        # Only frames of the LLM code are traced and stopped. Raising inside library code could skip its cleanup
        # (e.g. `torch.no_grad().__exit__` restoring the grad mode), so library frames run untraced.
        if frame.f_code.co_filename != LLM_FILENAME:
            return None
        self.check(frame)
        return self.local


def _guard_inputs(value: Any, path: str, clone: bool, watched: list, depth: int = 0) -> Any:
    """Copy the argument structure; remember each tensor's version (and, when cloning, the original)."""
    if isinstance(value, torch.Tensor):
        guarded = value.clone() if clone else value
        watched.append((path, guarded, guarded._version, value if clone else None))
        return guarded
    if isinstance(value, np.ndarray):
        guarded = value.copy() if clone else value.view()
        guarded.flags.writeable = False  # an in-place write then fails right at the offending line
        if clone:
            watched.append((path, guarded, None, value))
        return guarded
    if depth < 4 and type(value) is dict:
        return {k: _guard_inputs(v, f"{path}[{k!r}]", clone, watched, depth + 1) for k, v in value.items()}
    if depth < 4 and type(value) in (list, tuple):
        return type(value)(_guard_inputs(v, f"{path}[{i}]", clone, watched, depth + 1) for i, v in enumerate(value))
    return value


def _values_differ(original: Any, seen: Any) -> bool:
    if isinstance(original, torch.Tensor):
        if original.shape != seen.shape:
            return True
        if original.is_floating_point() or original.is_complex():
            return not torch.equal(torch.nan_to_num(original), torch.nan_to_num(seen))
        return not torch.equal(original, seen)
    return original.shape != seen.shape or not np.array_equal(original, seen, equal_nan=original.dtype.kind in "fc")


def _mutated_inputs(watched: list) -> list[str]:
    mutated = []
    for path, guarded, version, original in watched:
        if (version is not None and guarded._version != version) or (original is not None and _values_differ(original, guarded)):
            mutated.append(path)
    return mutated


def _call_with_deadline(function: Callable[..., Any], args: tuple, kwargs: dict, seconds: float, what: str,
                        source_lines: list[str]) -> Any:
    """Call `function` with the LLM frames traced against a deadline; turn every failure into `LLMCodeFailed`."""
    deadline = _Deadline(seconds)
    previous_tracer = sys.gettrace()  # a debugger's or coverage's tracer, restored afterwards
    sys.settrace(deadline.global_)
    try:
        return function(*args, **kwargs)
    except _TimeLimitExceeded:
        raise LLMCodeFailed(
            f"{what} did not finish within the time limit of {seconds:g} s and was stopped at {deadline.where}. "
            "Avoid unbounded or very long Python loops; use vectorised tensor operations."
        ) from None
    except Exception as error:
        raise LLMCodeFailed(_format_failure(error, source_lines, what)) from None
    finally:
        sys.settrace(previous_tracer)


class SafeFunction:
    """A checked, compiled LLM function; call it like the function itself.

    The first `checked_calls` calls run `checked_function` (arithmetic guards, traced with a deadline, on
    clones of the inputs); later calls run `fast_function`, the same code without tracing or guards.
    """

    def __init__(self, source: str, entry: str, checked_function: Callable[..., Any], fast_function: Callable[..., Any],
                 parameters: list[str], *, time_limit_s: float, checked_calls: int, validate: Callable[[Any], Any] | None):
        self.source = source
        self.entry = entry
        self.parameters = parameters
        self.time_limit_s = time_limit_s
        self.checked_calls = checked_calls
        self.validate = validate
        self.calls = 0
        self._checked_function = checked_function
        self._fast_function = fast_function
        self._source_lines = source.splitlines()

    def __repr__(self) -> str:
        return f"SafeFunction({self.entry}({', '.join(self.parameters)}), calls={self.calls})"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        checked = self.calls < self.checked_calls
        self.calls += 1
        values = (*args, *kwargs.values())
        if not checked and all(type(v) is torch.Tensor for v in values):
            result = self._call_fast_on_plain_tensors(args, kwargs, values)
        else:
            watched: list = []
            names = self.parameters + [f"argument {i}" for i in range(len(self.parameters), len(args))]
            args = tuple(_guard_inputs(a, names[i], checked, watched) for i, a in enumerate(args))
            kwargs = {k: _guard_inputs(v, k, checked, watched) for k, v in kwargs.items()}
            if checked:
                result = _call_with_deadline(self._checked_function, args, kwargs, self.time_limit_s, f"`{self.entry}`",
                                             self._source_lines)
            else:
                result = self._call_fast(args, kwargs)
            self._raise_if_mutated(_mutated_inputs(watched))
        if self.validate is not None:
            try:
                self.validate(result)
            except LLMCodeError:
                raise
            except Exception as error:
                raise LLMCodeFailed(f"`{self.entry}` returned an invalid value: {error}") from None
        return result

    def _call_fast(self, args: tuple, kwargs: dict) -> Any:
        try:
            return self._fast_function(*args, **kwargs)
        except Exception as error:
            raise LLMCodeFailed(_format_failure(error, self._source_lines, f"`{self.entry}`")) from None

    def _call_fast_on_plain_tensors(self, args: tuple, kwargs: dict, tensors: tuple) -> Any:
        # The common case after the checked calls (every argument a tensor): only version counters, no copies.
        versions = [t._version for t in tensors]
        result = self._call_fast(args, kwargs)
        if versions != [t._version for t in tensors]:
            names = self.parameters[: len(args)] + [f"argument {i}" for i in range(len(self.parameters), len(args))]
            self._raise_if_mutated([name for name, t, v in zip(names + list(kwargs), tensors, versions) if t._version != v])
        return result

    def _raise_if_mutated(self, mutated: list[str]) -> None:
        if mutated:
            raise LLMCodeFailed(
                f"`{self.entry}` modified its input {', '.join(mutated)} in place (e.g. `x += 1`, `x[:, 0] = 0`, `x.add_(1)`). "
                "Inputs are the simulator's state and must stay unchanged: compute new tensors instead (`y = x + 1`, "
                "or `y = x.clone()` before editing y)."
            )


def _define(tree: ast.Module, time_limit_s: float, source_lines: list[str], library: dict[str, Any]) -> dict[str, Any]:
    """Run the (checked) top level of the LLM code in a fresh restricted namespace and return that namespace."""
    namespace: dict[str, Any] = {
        # LLM answers often use torch/math/np without importing them (reward code is usually shown inside a
        # module that already imported them), so the proxies are bound up front; imports still work as well.
        **PRE_IMPORTED,
        **library,
        "__builtins__": build_builtins(),
        "__name__": "llm_code",
        "_safe_mul": _safe_mul,
        "_safe_pow": _safe_pow,
        "_safe_lshift": _safe_lshift,
    }
    code = compile(tree, LLM_FILENAME, "exec")
    # The top level holds only imports, constants and function definitions (enforced by the static check).
    _call_with_deadline(exec, (code, namespace), {}, time_limit_s, "The code's top level", source_lines)
    return namespace


def compile_llm_function(source: str, entry: str, *, time_limit_s: float = 5.0, checked_calls: int = 3,
                         validate: Callable[[Any], Any] | None = None,
                         library: dict[str, Callable[..., Any]] | None = None) -> SafeFunction:
    """Check and compile LLM source; return the callable `entry` function wrapped in a `SafeFunction`.

    `validate` is called with every return value; it rejects a value by raising (e.g. with `check_tensor`).
    `library` holds trusted helper functions (e.g. ProgressCounts' feature library) that the code may call by name.
    Raises `LLMCodeRefused` if the code is refused, `LLMCodeFailed` if its top level fails to run.
    """
    library = dict(library or {})
    private = [name for name in library if name.startswith("_")]
    if private:
        raise ValueError(f"library names must not start with '_': {private}")
    tree = check_source(source)
    definitions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    if entry not in definitions:
        found = ", ".join(definitions) or "none"
        raise LLMCodeRefused(f"The code must define a top-level function `{entry}`; functions found: {found}.")
    arguments = definitions[entry].args
    parameters = [a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs]
    _strip_jit_decorators(tree)
    lines = source.splitlines()
    # Two copies of the code: with arithmetic guards for the traced checked calls, without them for speed later
    # (a guard is a Python call on every `*` and `**`, measurable on small batches). The guarded top level runs first,
    # so giant constants are refused before the unguarded copy ever runs.
    guarded_tree = ast.fix_missing_locations(_GuardArithmetic().visit(copy.deepcopy(tree)))
    checked_namespace = _define(guarded_tree, time_limit_s, lines, library)
    fast_namespace = _define(tree, time_limit_s, lines, library)
    return SafeFunction(source, entry, checked_namespace[entry], fast_namespace[entry], parameters,
                        time_limit_s=time_limit_s, checked_calls=checked_calls, validate=validate)


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
