"""Command-line arguments: parsed with tyro, and every bad value answered with one line and exit code 2."""

from __future__ import annotations

import contextlib
import io
import re
import sys
from dataclasses import replace
from typing import NoReturn, TypeVar

T = TypeVar("T")


def usage_error(message: str) -> NoReturn:
    """A bad argument: one line, exit code 2 (as argparse and tyro do)."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def parse(args_class: type[T]) -> T:
    """`tyro.cli(args_class)`, with tyro's boxed error message (an unknown choice, a value of the wrong type) reduced
    to its first sentence on one line."""
    import tyro

    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured):
            return tyro.cli(args_class)
    except SystemExit as exit:
        if exit.code != 2:
            sys.stderr.write(captured.getvalue())
            raise
        usage_error(one_line(captured.getvalue()))


def one_line(boxed: str) -> str:
    """The message inside tyro's box, up to its separator line, joined into one line."""
    lines = []
    for line in boxed.splitlines():
        text = line.strip().strip("│╭╮╰╯").strip()
        if text.startswith("─") and lines:  # the separator before "For full helptext ..."
            break
        if text and not text.startswith("─") and not text.startswith("╭"):
            lines.append(re.sub(r"^─+ *|[ ─]*$", "", text))
    return " ".join(line for line in lines if line) or "invalid arguments (see --help)"


def check_counts(**values: int) -> None:
    """Each `--name value` must be at least 1."""
    for name, value in values.items():
        if value < 1:
            usage_error(f"--{name.replace('_', '-')} must be at least 1, got {value}")


def check_choice(flag: str, value: str, choices) -> None:
    """`--flag value` must be one of `choices` (the message lists them)."""
    if value not in choices:
        usage_error(f"unknown {flag.lstrip('-').replace('-', ' ')} {value!r} ({flag}); choose one of: {', '.join(sorted(choices))}")


def given_on_command_line(flag: str) -> bool:
    return any(arg == flag or arg.startswith(flag + "=") for arg in sys.argv[1:])


def apply_preset(args: T, preset: dict, name: str, alternative: str) -> T:
    """`args` with each value of `preset` that the command line does not set, and one line saying so."""
    chosen = {k: v for k, v in preset.items() if not given_on_command_line("--" + k.replace("_", "-"))}
    print(f"{name} ({', '.join(f'{k}={v}' for k, v in chosen.items()) or 'every setting given'}); {alternative}")
    return replace(args, **chosen)
