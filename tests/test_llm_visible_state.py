"""What LLM-written code may read, and what the prompts tell the LLM, holds no privileged information.

The named state (`env.state`, `info["final_state"]`) and its description in the ProgressCounts and Eureka prompts
hold only what the policy's observation and the task's physical state hold: no success flag or counter, no episode
step counter, no reset flag, no threshold of the success test. Those stay with the env (`env.successes`,
`env.progress_buf`, `info["success"]`, `info["episode_length"]`, ...) for the training scripts and benchmarks. The
shipped answers under llm_outputs/ must not read such a key either.
"""

import functools
import re
from pathlib import Path

import pytest
import torch
from script_tools import load_script

import dexhands
from dexhands.tasks import TASK_CONFIGS
from llmcode.cache import AnswerCache, prompt_hash, render_transcript

ROOT = Path(__file__).resolve().parents[1]
pc = load_script("ppo_progresscounts_isaac")
eu = load_script("ppo_eureka_isaac")

# Key names of the env's success and episode bookkeeping, with the Isaac Gym / Bi-DexHands buffer names, so that a
# port of the original's buffers into the state is caught too. Each task's `extra_success_names` are added below.
FORBIDDEN_KEYS = frozenset({
    "successes", "success", "consecutive_successes", "success_original", "success_now", "goal_reached",
    "progress_buf", "episode_length", "episode_step", "step_count", "steps",
    "reset_buf", "reset_goal_buf", "episode_end", "time_out", "timeout", "terminated", "truncated", "done", "dones",
})
# A state key that merely contains one of these words is bookkeeping too (no physical quantity is named like this).
FORBIDDEN_KEY_PARTS = re.compile(r"success|progress_buf|reset|episode|timeout|time_out|tolerance|threshold|step")
# Plain English words of FORBIDDEN_KEYS ("success", "done", "steps", ...) may appear in a prompt's prose; names that
# only exist as keys may not.
PROMPT_FORBIDDEN_NAMES = frozenset(name for name in FORBIDDEN_KEYS if "_" in name or name == "successes")
UNIT = r"(?:%|mm|cm|m|rad|radians?|deg|degrees?|°|metres?|meters?)(?![A-Za-z])"
NUMBER = r"[-+]?\d+(?:\.\d+)?"
THRESHOLD_PHRASES = re.compile(
    rf"\bwithin\s+(?:about\s+|~\s*)?{NUMBER}\s*{UNIT}"  # "within 3 cm", "within 0.1 rad"
    rf"|\b(?:less|more|closer|further|farther)\s+than\s+{NUMBER}\s*{UNIT}"  # "less than 0.2 m apart"
    rf"|{NUMBER}\s*%\s*of\b",  # "80 % of their travel"
    re.IGNORECASE,
)


def forbidden(task: str) -> frozenset:
    return FORBIDDEN_KEYS | frozenset(TASK_CONFIGS[task].extra_success_names)


@functools.cache
def probe(task: str):
    """A 2-env probe: (env, its state after reset, info of one step from there)."""
    env = dexhands.make(task, num_envs=2, device="cpu", backend="mujoco", seed=1, num_threads=1)
    env.reset()
    reset_state = dict(env.state)
    _, _, _, _, info = env.step(torch.zeros(2, env.act_dim))
    return env, reset_state, info


def privileged_keys(keys, task: str) -> list[str]:
    return sorted(k for k in keys if k in forbidden(task) or FORBIDDEN_KEY_PARTS.search(k))


@pytest.mark.parametrize("task", dexhands.TASKS)
def test_the_state_llm_code_reads_holds_no_success_or_episode_bookkeeping(task):
    env, reset_state, info = probe(task)
    for where, state in (("env.state after reset", reset_state), ('info["final_state"]', info["final_state"]),
                         ("env.state after a step", env.state)):
        assert not privileged_keys(state, task), f"{task}: {where} holds {privileged_keys(state, task)}"
        # Whatever `info` reports besides the observation and the state (success, episode ends and lengths, extra
        # success metrics) is bookkeeping of the env, not state.
        reported = set(info) - {"final_obs", "final_state"}
        assert not reported & set(state), f"{task}: {where} holds info entries {sorted(reported & set(state))}"
    # The bookkeeping is still there for the scripts and benchmarks.
    assert {"success", "episode_length", *TASK_CONFIGS[task].extra_success_names} <= set(info)
    assert info["episode_length"].tolist() == [1, 1] and env.successes.shape == env.progress_buf.shape == (2,)


def prompt_problems(text: str, task: str) -> list[str]:
    names = PROMPT_FORBIDDEN_NAMES | frozenset(TASK_CONFIGS[task].extra_success_names)
    found = [name for name in sorted(names) if re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", text)]
    return found + [match.group(0) for match in THRESHOLD_PHRASES.finditer(text)]


@pytest.mark.parametrize("task", dexhands.TASKS)
def test_the_prompts_name_no_privileged_key_and_no_success_threshold(task):
    env, _, _ = probe(task)
    assert not prompt_problems(env.state_description(), task), f"{task}: state description"
    for method, messages in (("ProgressCounts", pc.progress_prompt(task, env)), ("Eureka", eu.initial_messages(task, env))):
        text = "\n".join(message["content"] for message in messages)
        assert not prompt_problems(text, task), f"{task}: the {method} prompt says {prompt_problems(text, task)}"


@pytest.mark.parametrize("task", dexhands.TASKS)
def test_the_shipped_progress_functions_answer_todays_prompt(task):
    # Replayed by position, they would still load for an older prompt (with a PromptChangedWarning); they must answer
    # the prompt the script builds today, which shows no privileged key.
    env, _, _ = probe(task)
    messages = pc.progress_prompt(task, env)
    cache = AnswerCache(ROOT / "llm_outputs" / "progresscounts" / task)
    assert {entry["prompt_hash"] for entry in cache.entries()} == {prompt_hash(messages)}, (
        f"{task}: the shipped progress functions were recorded for another prompt")
    assert cache.prompt_file(prompt_hash(messages)).read_text(encoding="utf-8") == render_transcript(messages)


def test_the_prompt_check_catches_what_it_is_for():
    task = "ShadowHandSwitch"
    assert prompt_problems("success_original (N): 1 once ...", task) == ["success_original"]
    assert prompt_problems("progress_buf (N): steps taken", task) == ["progress_buf"]
    assert prompt_problems("bring it to the goal (within 3 cm); turn it to within 0.1 rad", task) == [
        "within 3 cm", "within 0.1 rad"]
    assert prompt_problems("success when they are less than 0.2 m apart or 80 % of the travel", task) == [
        "less than 0.2 m", "80 % of"]
    assert not prompt_problems("a success once the cube is lifted 0.385 m above its start; 5 cm cubes; 60 steps", task)


def shipped_answers() -> list[Path]:
    """Every answer file of the shipped ProgressCounts and Eureka caches, and the Eureka reference designs."""
    files = []
    for method in ("progresscounts", "eureka"):
        for manifest in sorted((ROOT / "llm_outputs" / method).rglob("manifest.json")):
            files += [manifest.parent / entry["file"] for entry in AnswerCache(manifest.parent).entries()]
    files += sorted((ROOT / "llm_outputs" / "eureka" / "reference_designs").glob("*.py"))
    return [f for f in files if f.suffix in (".py", ".md") and not f.name.startswith("prompt_")]


def reads_forbidden_key(text: str) -> list[str]:
    """Keys of FORBIDDEN_KEYS read as state["key"], state.get("key"), or tested as "key" in state."""
    extra = {name for task in TASK_CONFIGS.values() for name in task.extra_success_names}
    names = "|".join(re.escape(name) for name in sorted(FORBIDDEN_KEYS | extra))
    pattern = rf"""(?:\[\s*|\.get\(\s*)(['"])({names})\1|(['"])({names})\3\s+(?:not\s+)?in\b"""
    return sorted({m.group(2) or m.group(4) for m in re.finditer(pattern, text)})


def test_the_answer_check_catches_what_it_is_for():
    assert reads_forbidden_key('goals = state["successes"].float()') == ["successes"]
    assert reads_forbidden_key("t = state.get('progress_buf', 0)\nif 'reset_buf' in state: pass") == [
        "progress_buf", "reset_buf"]
    assert not reads_forbidden_key('d = state["object_pos"]  # successes come from reaching the goal')


def test_no_shipped_answer_reads_a_privileged_key():
    answers = shipped_answers()
    assert len(answers) > 100  # 20 tasks x 4 progress functions, 20 x 80 Eureka answers
    offenders = {str(f.relative_to(ROOT)): keys for f in answers if (keys := reads_forbidden_key(f.read_text()))}
    assert not offenders, f"shipped answers read privileged keys: {offenders}"
