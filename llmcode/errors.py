"""The errors of LLM code. `str(error)` is written to be sent back to the LLM: what went wrong, where, what to do."""


class LLMCodeError(Exception):
    """Base class of every failure of LLM-written code: refused, failed while running, or its sandbox unavailable."""


class LLMCodeRefused(LLMCodeError):
    """The code was refused before running: syntax error, construct outside the allow-list, missing entry function."""


class LLMCodeFailed(LLMCodeError):
    """The code ran and failed: an exception, the time or memory limit, its worker died, or an invalid output."""


class SandboxUnavailable(LLMCodeError):
    """The OS sandbox cannot start on this machine, so no LLM code can run here."""


def exit_for(error: LLMCodeError, summary: str) -> SystemExit:
    """A script's end when no usable LLM answer is left: the full text of `error` on stderr, then `summary` as the
    one last line (exit code 1). Use as `raise exit_for(error, "...") from None`."""
    import sys

    print(str(error), file=sys.stderr)
    return SystemExit(f"{summary} (the reason is printed above)")
