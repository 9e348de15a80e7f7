"""The environment as context (Eureka's central idea): the source code that builds the state a reward function reads.

Eureka shows the LLM the task's observation code rather than a description of it. Here that code is the env's own:
`DexHandsEnv._read_state` and what it calls (the generic `StateReader`, the task's `add_task_state` and the
helpers and constants that it uses), then the observation built from that state. It is read from the running code
with `inspect`, so it cannot drift from what the reward function receives. Reward, success and reset code is never
part of it: the LLM learns the task from the task description, as Eureka's did.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap
import types

from dexhands.env import DexHandsEnv
from dexhands.state import StateReader
from dexhands.tasks.base import TaskConfig

# Generic code, in reading order: the state a reward function receives, then the policy's observation of it.
STATE_CODE = (DexHandsEnv._read_state, DexHandsEnv._add_goals, StateReader.read, StateReader._base_pose)
OBSERVATION_CODE = (StateReader.observe,)


def environment_code(env: DexHandsEnv) -> str:
    """Python source of everything that computes `state` (and the observation) for the env's task, as one listing,
    after the values that code reads from the env's model (the task's settings, joint limits and ranges)."""
    task = env.task
    # Every definition of the task's two methods along its class hierarchy: an override may call `super()`.
    methods = [vars(cls)[name] for name in ("add_task_state", "observation_block") for cls in type(task).__mro__
               if name in vars(cls) and _has_body(vars(cls)[name])]
    chunks = [_source(f) for f in STATE_CODE] + [_source(m) for m in methods] + [_source(f) for f in OBSERVATION_CODE]
    used = _helpers([*STATE_CODE, *methods, *OBSERVATION_CODE])
    header = [f"# {task.name}: values the code below reads from the env and its MuJoCo model"]
    header += [f"# self.task.{k} = {v!r}" for k, v in _task_attributes_read(task, [*STATE_CODE, *OBSERVATION_CODE])]
    header += [f"# self.{k} = {v!r} (in the task's methods)" for k, v in _fields_read(task, methods)]
    header += [f"# self._dof_limits[{key!r}]: shape {tuple(value.shape)}, {_numbers(value)}" for key, value in env._dof_limits.items()]
    model = env.scene.model
    for name in task.layout.tracked_joints:
        unit = "m" if model.joint(name).type == 2 else "rad"  # 2: a slide joint, 3: a hinge
        low, high = model.joint(name).range
        header.append(f"# joint_pos / joint_vel column {name!r}: range {low:.4g} to {high:.4g} {unit}")
    constants = [f"{name} = {value!r}" for name, value in used if not callable(value)]
    helpers = [_source(value) for _, value in used if callable(value)]
    parts = ["\n".join(header), "\n".join(constants), *helpers, *chunks]
    return "\n\n".join(part for part in parts if part).strip() + "\n"


def _numbers(tensor) -> str:
    return "[" + ", ".join(f"{v:.4g}" for v in tensor.tolist()) + "]"


def _source(function) -> str:
    return textwrap.dedent(inspect.getsource(function)).rstrip()


def _has_body(method) -> bool:
    """False for a method whose body is only a docstring (the base class's `add_task_state`)."""
    body = ast.parse(_source(method)).body[0].body
    return not (len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant))


def _helpers(functions) -> list[tuple[str, object]]:
    """Module-level constants, and the task helpers (`dexhands.tasks`), that the listed functions use by name, and
    those that the helpers use in turn."""
    found: dict[str, object] = {}
    functions = list(functions)
    for function in functions:
        module_globals = vars(inspect.getmodule(function))
        for node in ast.walk(ast.parse(_source(function))):
            if isinstance(node, ast.Name) and node.id in module_globals and node.id not in found:
                value = module_globals[node.id]
                function_itself = inspect.unwrap(value) if callable(value) else None  # under a @cache, say
                if isinstance(function_itself, types.FunctionType) and function_itself.__module__.startswith("dexhands.tasks"):
                    found[node.id] = value
                    functions.append(function_itself)
                elif isinstance(value, int | float | str | tuple | dict) and not isinstance(value, bool):
                    found[node.id] = value
    return sorted(found.items(), key=lambda item: callable(item[1]))


def _task_attributes_read(task: TaskConfig, functions) -> list[tuple[str, object]]:
    """The simple values (numbers, flags) that the generic code reads as `self.task.<name>`."""
    read: dict[str, object] = {}
    for function in functions:
        for node in ast.walk(ast.parse(_source(function))):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr == "task"
                    and isinstance(getattr(task, node.attr, None), int | float | bool)):
                read.setdefault(node.attr, getattr(task, node.attr))
    return list(read.items())


def _fields_read(task: TaskConfig, methods) -> list[tuple[str, object]]:
    """The task's dataclass fields that its methods read as `self.<field>`, with their values."""
    names = {field.name for field in dataclasses.fields(task)}
    read = []
    for method in methods:
        for node in ast.walk(ast.parse(_source(method))):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"
                    and node.attr in names and node.attr not in read):
                read.append(node.attr)
    return [(name, getattr(task, name)) for name in read]
