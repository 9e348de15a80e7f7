"""The static half of the first wall: parse LLM code and refuse everything outside the allow-list before it runs.

Positive lists only (`llmcode.allowlist`): syntax node types, attribute names (those allowed on some kind of object;
the run-time guard then checks the kind), module imports, and names that do not start with `_`. Every problem is
reported with its line, in words an LLM can act on.
"""

from __future__ import annotations

import ast

from llmcode import allowlist
from llmcode.errors import LLMCodeRefused
from llmcode.restricted import LLM_FILENAME, PROXIES, all_attribute_names

MAX_SOURCE_CHARS = 100_000
MAX_CONSTANT_EXPONENT = 10_000
ATTRIBUTE_NAMES = all_attribute_names()

_NODE_NAMES = {
    ast.ClassDef: "class definitions", ast.Global: "`global`", ast.Nonlocal: "`nonlocal`", ast.Yield: "`yield`",
    ast.YieldFrom: "`yield from`", ast.AsyncFunctionDef: "`async def`", ast.Await: "`await`", ast.AsyncFor: "`async for`",
    ast.AsyncWith: "`async with`", ast.Match: "`match` statements", ast.TryStar: "`except*`",
}
# Top-level assignments run at definition time, so they may only build constants (no calls, loops or lambdas).
_COMPUTING_NODES = (ast.Call, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _dotted_name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted_name(node.value)}.{node.attr}"
    return "?"


def _is_future_annotations(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.ImportFrom) and statement.module == "__future__" and all(
        alias.name == "annotations" for alias in statement.names)


class _Checker(ast.NodeVisitor):
    def __init__(self, lines: list[str]):
        self.lines = lines
        self.problems: list[str] = []

    def refuse(self, node: ast.AST, why: str) -> None:
        lineno = getattr(node, "lineno", 0)
        code = self.lines[lineno - 1].strip() if 0 < lineno <= len(self.lines) else ""
        self.problems.append(f"line {lineno}: `{code}`: {why}")

    def check_module(self, tree: ast.Module) -> None:
        for index, statement in enumerate(tree.body):
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                pass
            elif isinstance(statement, ast.FunctionDef):
                defaults = [*statement.args.defaults, *(d for d in statement.args.kw_defaults if d is not None)]
                if any(isinstance(n, _COMPUTING_NODES) for d in defaults for n in ast.walk(d)):
                    self.refuse(statement, "default values of arguments may only be constants")
            elif isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is not None:
                if any(isinstance(n, _COMPUTING_NODES) for n in ast.walk(statement.value)):
                    self.refuse(statement, "top-level assignments may only hold constants; compute values inside a function")
            elif index == 0 and isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
                pass  # module docstring
            else:
                self.refuse(statement, "only imports, function definitions and constant assignments are allowed at top level")
        self.visit(tree)

    def generic_visit(self, node: ast.AST) -> None:
        if type(node) not in allowlist.ALLOWED_NODES:
            what = _NODE_NAMES.get(type(node), f"`{type(node).__name__}` syntax")
            self.refuse(node, f"{what} not allowed here; write plain functions with tensor math")
            return  # nothing inside a refused construct is checked further (nothing in it will run)
        super().generic_visit(node)

    def check_name(self, node: ast.AST, name: str | None) -> None:
        if name and name.startswith("_") and name != "_":
            self.refuse(node, f"name `{name}` is not allowed (names starting with '_' are private); rename it")
        elif name in allowlist.FORBIDDEN_NAMES:
            self.refuse(node, f"`{name}` is not allowed in this code")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name not in allowlist.ALLOWED_MODULES:
                self.refuse(node, f"module '{alias.name}' is not allowed; allowed modules: {', '.join(allowlist.ALLOWED_MODULES)}")
            self.check_name(node, alias.asname)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level or module not in allowlist.ALLOWED_MODULES:
            self.refuse(node, f"module '{module}' is not allowed; allowed modules: {', '.join(allowlist.ALLOWED_MODULES)}")
            return
        for alias in node.names:
            if alias.name == "*":
                self.refuse(node, "`import *` is not allowed; import the names you use")
            elif alias.name not in PROXIES[module]._proxy_names:
                self.refuse(node, f"'{alias.name}' from '{module}' is not on the allow-list")
            self.check_name(node, alias.name)
            self.check_name(node, alias.asname)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        for decorator in node.decorator_list:
            if _dotted_name(decorator) != "torch.jit.script":
                self.refuse(decorator, "decorators are not allowed (only @torch.jit.script, which is ignored)")
        self.check_name(node, node.name)
        for child in [node.args, node.returns, *node.body]:
            if child is not None:
                self.visit(child)

    def visit_arg(self, node: ast.arg) -> None:
        self.check_name(node, node.arg)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        self.check_name(node, node.id)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        self.check_name(node, node.name)
        self.generic_visit(node)

    def visit_keyword(self, node: ast.keyword) -> None:
        self.check_name(node, node.arg)
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr.startswith("_"):
            self.refuse(node, f"attribute `.{node.attr}` is not allowed (names starting with '_' are private)")
        elif node.attr not in ATTRIBUTE_NAMES:
            self.refuse(node, f"attribute `.{node.attr}` is not on the allow-list (tensor and array methods, "
                              "the allowed functions of math, numpy and torch)")
        if not isinstance(node.ctx, ast.Load):
            self.refuse(node, "assigning to or deleting attributes is not allowed; use local variables")
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.Pow):
            exponent = node.right
            if isinstance(exponent, ast.BinOp) and isinstance(exponent.op, ast.Pow):
                self.refuse(node, "nested powers such as `a ** b ** c` are not allowed; compute step by step")
            elif isinstance(exponent, ast.Constant) and isinstance(exponent.value, int | float):
                if abs(exponent.value) > MAX_CONSTANT_EXPONENT:
                    self.refuse(node, f"exponent {exponent.value} is too large (limit {MAX_CONSTANT_EXPONENT})")
        self.generic_visit(node)


def check_source(source: str) -> ast.Module:
    """Parse and statically check LLM code; return the tree or raise `LLMCodeRefused` listing every problem."""
    if not isinstance(source, str) or len(source) > MAX_SOURCE_CHARS:
        raise LLMCodeRefused(f"The code must be a Python source text of at most {MAX_SOURCE_CHARS} characters.")
    try:
        tree = ast.parse(source, filename=LLM_FILENAME)
        tree.body = [s for s in tree.body if not _is_future_annotations(s)]  # harmless; dropped before checking
        checker = _Checker(source.splitlines())
        checker.check_module(tree)
    except SyntaxError as error:
        line = (error.text or "").strip()
        raise LLMCodeRefused(f"The code has a syntax error on line {error.lineno}: {error.msg}\n    {line}") from None
    except (RecursionError, MemoryError):
        raise LLMCodeRefused("The code is nested too deeply to check; write flatter expressions.") from None
    if checker.problems:
        listed = "\n".join(f"  - {p}" for p in checker.problems[:20])
        if len(checker.problems) > 20:
            listed += f"\n  - ... and {len(checker.problems) - 20} more"
        raise LLMCodeRefused(
            "The code was refused by the safety check:\n"
            f"{listed}\n"
            f"Allowed: imports of {', '.join(allowlist.ALLOWED_MODULES)}; plain functions, "
            "tensor math; not allowed: files, processes, network, eval/exec/getattr, names starting with '_'."
        )
    return tree
