"""The restricted namespace LLM code runs in (inside the sandbox worker): the run-time half of the first wall.

What the code can name: read-only proxies of the allowed modules, a positive list of builtins and the trusted
library functions a method hands it. What it can reach from there: every attribute access `obj.name` is rewritten
into `_attribute(obj, "name")`, which looks up the kind of `obj` (tensor, array, dict, module proxy...) and allows
only that kind's listed attributes. An object of any other kind has no attributes at all, so a path that the static
check did not foresee still ends at the first attribute it tries.
"""

from __future__ import annotations
import __future__

import ast
import builtins
import math
import typing
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional

from llmcode import allowlist

LLM_FILENAME = "<llm-code>"


class ModuleProxy:
    """A read-only namespace with only the allow-listed attributes of one module."""

    def __init__(self, name: str, attributes: dict[str, Any]):
        object.__setattr__(self, "_proxy_name", name)
        object.__setattr__(self, "_proxy_names", frozenset(attributes))
        for key, value in attributes.items():  # real attributes, so that `import a.b as c` can walk them
            object.__setattr__(self, key, value)

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"`{self._proxy_name}` is read-only")

    def __repr__(self) -> str:
        return f"<allowed part of module {self._proxy_name}>"


class _TypeOnly(type):
    """`np.ndarray`/`np.dtype` for annotations and isinstance only: calling them is refused, because their
    constructors reinterpret raw buffers (an object array's memory read as integers is a pointer)."""

    def __instancecheck__(cls, value: Any) -> bool:
        return isinstance(value, cls.real)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"np.{cls.__name__}(...) is not allowed here; use np.array, np.zeros, ...")


def _type_only(real: type) -> type:
    return _TypeOnly(real.__name__, (), {"real": real})


def _pick(module: Any, names: frozenset[str]) -> dict[str, Any]:
    return {name: getattr(module, name) for name in sorted(names) if hasattr(module, name)}


def build_proxies() -> dict[str, ModuleProxy]:
    """The proxy for every allowed module name, e.g. `"torch.nn.functional"` -> proxy of F."""
    functional = ModuleProxy("torch.nn.functional", _pick(torch.nn.functional, allowlist.TORCH_FUNCTIONAL_NAMES))
    nn = ModuleProxy("torch.nn", {"functional": functional})
    linalg = ModuleProxy("torch.linalg", _pick(torch.linalg, allowlist.TORCH_LINALG_NAMES))
    special = ModuleProxy("torch.special", _pick(torch.special, allowlist.TORCH_SPECIAL_NAMES))
    torch_proxy = ModuleProxy("torch", {**_pick(torch, allowlist.TORCH_NAMES), "nn": nn, "linalg": linalg, "special": special})
    np_linalg = ModuleProxy("numpy.linalg", _pick(np.linalg, allowlist.NUMPY_LINALG_NAMES))
    np_proxy = ModuleProxy("numpy", {**_pick(np, allowlist.NUMPY_NAMES - {"linalg"}), "linalg": np_linalg,
                                     "ndarray": _type_only(np.ndarray), "dtype": _type_only(np.dtype)})
    return {
        "math": ModuleProxy("math", {n: getattr(math, n) for n in dir(math) if not n.startswith("_")}),
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

# Tensor and array methods: torch/numpy functions that are also methods, the extras, and in-place `name_` variants.
TENSOR_ATTRIBUTES = frozenset(
    name for base in allowlist.TORCH_NAMES | allowlist.TENSOR_EXTRA_ATTRIBUTES
    for name in (base, base + "_") if hasattr(torch.Tensor, name)
)
NDARRAY_ATTRIBUTES = frozenset(
    n for n in allowlist.NUMPY_NAMES | allowlist.NDARRAY_EXTRA_ATTRIBUTES if hasattr(np.ndarray, n)
)

_KINDS: list[tuple[type | tuple[type, ...], frozenset[str], str]] = [
    (torch.Tensor, TENSOR_ATTRIBUTES, "tensor"),
    (np.ndarray, NDARRAY_ATTRIBUTES, "numpy array"),
    (np.generic, allowlist.NUMPY_SCALAR_ATTRIBUTES, "numpy scalar"),
    (torch.Size, allowlist.SIZE_ATTRIBUTES, "torch.Size"),
    (torch.dtype, allowlist.DTYPE_ATTRIBUTES, "torch dtype"),
    (np.dtype, allowlist.NUMPY_DTYPE_ATTRIBUTES, "numpy dtype"),
    (torch.device, allowlist.DEVICE_ATTRIBUTES, "torch device"),
    ((torch.finfo, torch.iinfo, np.finfo, np.iinfo), allowlist.FINFO_ATTRIBUTES, "finfo/iinfo"),
]
_EXACT_KINDS: dict[type, tuple[frozenset[str], str]] = {
    dict: (allowlist.DICT_ATTRIBUTES, "dict"),
    list: (allowlist.LIST_ATTRIBUTES, "list"),
    tuple: (allowlist.TUPLE_ATTRIBUTES, "tuple"),
    set: (allowlist.SET_ATTRIBUTES, "set"),
    str: (allowlist.STR_ATTRIBUTES, "str"),
    float: (allowlist.FLOAT_ATTRIBUTES, "float"),
    int: (allowlist.INT_ATTRIBUTES, "int"),
    bool: (allowlist.INT_ATTRIBUTES, "bool"),
}


def _result_fields(kind: type) -> frozenset[str]:
    """Named results of torch (`torch.return_types`) and numpy.linalg: their listed field names."""
    module = getattr(kind, "__module__", "") or ""
    if module == "torch.return_types" or module.startswith("numpy.linalg"):
        fields = getattr(kind, "__match_args__", ()) or getattr(kind, "_fields", ())
        return allowlist.RESULT_FIELDS.intersection(fields)
    return frozenset()


def allowed_attributes(value: Any) -> tuple[frozenset[str], str]:
    """The attribute names code may read on `value`, and a name for its kind (for messages)."""
    kind = type(value)
    if kind is ModuleProxy:
        return value._proxy_names, f"module {value._proxy_name}"
    exact = _EXACT_KINDS.get(kind)
    if exact is not None:
        return exact
    for types, names, label in _KINDS:
        if isinstance(value, types):
            return names, label
    fields = _result_fields(kind)
    if fields:
        return fields, "named result"
    return frozenset(), kind.__name__


def guarded_attribute(value: Any, name: str) -> Any:
    """`value.name`, if `name` is listed for the kind of `value`; else an AttributeError that says so."""
    if isinstance(value, np.ndarray | np.generic) and value.dtype.hasobject:
        raise AttributeError("arrays of Python objects (dtype=object) are not allowed; use numeric arrays")
    names, kind = allowed_attributes(value)
    if name not in names:
        raise AttributeError(f"`.{name}` of a {kind} is not on the allow-list of this code")
    return getattr(value, name)


def all_attribute_names() -> frozenset[str]:
    """Every attribute name allowed on some kind of object: what the static check accepts."""
    names = set(TENSOR_ATTRIBUTES) | NDARRAY_ATTRIBUTES | allowlist.RESULT_FIELDS
    for _, listed, _ in _KINDS:
        names |= listed
    for listed, _ in _EXACT_KINDS.values():
        names |= listed
    for proxy in PROXIES.values():
        names |= proxy._proxy_names
    return frozenset(names)


def _restricted_import(name: str, globals_=None, locals_=None, fromlist=(), level: int = 0) -> Any:
    if isinstance(fromlist, list):
        # Not an `import` statement (those pass None or a tuple) but C code of torch/numpy importing a module that
        # is already loaded (e.g. `torch.tensor` needs `torch.storage`): hand it over, never load a new one.
        import sys

        if name in sys.modules:
            return sys.modules[name]
        raise ImportError(f"import of '{name}' is not allowed here")
    if level != 0 or name not in PROXIES:
        raise ImportError(f"import of '{name}' is not allowed; allowed modules: {', '.join(allowlist.ALLOWED_MODULES)}")
    # `import a.b.c` binds the top-level package; `from a.b import c` and `import a.b as x` need the module itself.
    return PROXIES[name] if fromlist else PROXIES[name.split(".")[0]]


def _discard(*args: Any, **kwargs: Any) -> None:
    """`print` of LLM code: the worker has no terminal to write to."""


def build_builtins() -> dict[str, Any]:
    safe = {name: getattr(builtins, name) for name in allowlist.SAFE_BUILTIN_NAMES}
    safe.update(print=_discard, __import__=_restricted_import)
    return safe


class _GuardAttributes(ast.NodeTransformer):
    """`obj.name` -> `_attribute(obj, "name")` (the static check has already refused stores and deletes)."""

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        call = ast.Call(func=ast.Name(id="_attribute", ctx=ast.Load()), args=[node.value, ast.Constant(node.attr)],
                        keywords=[])
        return ast.copy_location(call, node)


def define(tree: ast.Module, library: dict[str, Callable[..., Any]]) -> dict[str, Any]:
    """Run the checked top level of the LLM code in a fresh restricted namespace and return that namespace."""
    for node in ast.walk(tree):  # @torch.jit.script is the only decorator the static check lets through; run eagerly
        if isinstance(node, ast.FunctionDef):
            node.decorator_list = []
    tree = ast.fix_missing_locations(_GuardAttributes().visit(tree))
    namespace: dict[str, Any] = {
        # LLM answers often use torch/math/np without importing them (reward code is usually shown inside a
        # module that already imported them), so the proxies are bound up front; imports still work as well.
        "torch": PROXIES["torch"], "math": PROXIES["math"], "np": PROXIES["numpy"], "numpy": PROXIES["numpy"],
        **library,
        "__builtins__": build_builtins(),
        "__name__": "llm_code",
        "_attribute": guarded_attribute,
    }
    # Annotations stay strings (PEP 563), so nothing in them runs at definition time.
    exec(compile(tree, LLM_FILENAME, "exec", flags=__future__.annotations.compiler_flag, dont_inherit=True), namespace)
    return namespace
