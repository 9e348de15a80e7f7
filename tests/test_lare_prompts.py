"""LaRe's prompts tell the LLM what LaRe's own prompts tell it, and no more; the shipped answers use only their prompt.

LaRe's prompts (thu-rllab/LaRe: mpe/models/reward_model/LLMrd/prompt_template.py, mujoco/reward_model/prompt_template.py)
give the task's goal, what the agents or the robot are, the collision or catch distance (MPE) and the observation
layout. Ours give the same, in our words, and no reward formula or reward constant, no termination threshold, no arena
or start box, no prey speed or policy, no episode length and no episodic-return framing. The shipped answers under
llm_outputs/lare/ are written from the prompt alone: every number in an answer's code is in its prompt or is a neutral
number (0, 1, 2, 0.5, an epsilon), a comparison's threshold is in the prompt, and each answer's provenance says so.
`python llm_outputs/lare/make_reference_answers.py` rebuilds the MPE answers and re-keys all of them.
"""

import ast
import functools
import json
import math
import re
from pathlib import Path

import pytest
from script_tools import load_script

ROOT = Path(__file__).resolve().parents[1]
ANSWERS = ROOT / "llm_outputs" / "lare"
MPE_SCENARIOS = ["spread_n6", "spread_n15", "spread_n30", "tag_n6", "tag_n15", "tag_n30"]
MUJOCO_ENVS = sorted(p.name.removesuffix(".task.txt") for p in (ROOT / "prompts" / "lare" / "mujoco" / "envs").glob("*.task.txt"))
RULE = "written from the prompt alone"
RULE_DATE = "2026-12-07"  # the day the prompts lost their privileged facts; every answer is written on or after it

# What a LaRe prompt must not say (each pattern matched a prompt before 2026-12-07), and why.
FORBIDDEN = {
    r"reward|penal": "a reward or penalty: LaRe's prompts state none",
    r"\+\s*10\b|10 every step|per contact|every contact": "the catch reward (+10 per contact)",
    r"episod|\blasts\b|\b1000\b|\b50 steps": "the episode, its length or its return",
    r"decompos|credit|sum of the per-step": "the return-decomposition framing",
    r"0\.275|\bbump": "the landmark-bump distance",
    r"\[\s*-1\s*,\s*1\s*\]|\[\s*-0\.4|\bstart in\b": "the start box or an action range",
    r"faster|slower|fixed policy|run away|flee|large landmarks|block movement": "the prey's speed or policy, landmark sizes",
    r"healthy|terminat|ends? early|never ends|cannot fall": "a termination rule",
    r"\b0\.8\b|\b2\.0\b|-1 to 1 rad": "Walker2d's healthy band",
    r"5e-0?7|impact": "HumanoidStandup's contact cost",
    r"about 0\.1|about 1\.4|as high as possible": "HumanoidStandup's heights or its reward's shape",
    r"gymnasium|-v\d\b": "the environment's id, which points at the reward code a model may remember",
}
NEUTRAL = (0.0, 0.5, 1.0, 2.0)
EPSILON = 1e-3  # 0 < |x| <= EPSILON: a guard against division by zero or log(0)
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:e[-+]?\d+)?", re.IGNORECASE)


@functools.cache
def mpe():
    return load_script("ippo_lare_mpe")


@functools.cache
def td3():
    return load_script("td3_lare_mujoco")


class _Asked(Exception):
    pass


@functools.cache
def mpe_prompt(scenario):
    m = mpe()
    return m.render_messages(m.Args(scenario=scenario), m.SCENARIOS[scenario])


@functools.cache
def mujoco_prompt(name):
    """The first request of the TD3 script's LLM stage, caught by a client that asks nothing."""
    t = td3()

    class Catch:
        def __init__(self, *args, **kwargs):
            pass

        def ask(self, messages, **kwargs):
            raise _Asked(messages)

    original, t.llmcode.client.LLMClient = t.llmcode.client.LLMClient, Catch
    try:
        t.design_latent_reward(t.Args(env_id=f"{name}-v5"), t.make_env(f"{name}-v5", 0), lambda msg: None)
    except _Asked as asked:
        return asked.args[0]
    finally:
        t.llmcode.client.LLMClient = original
    raise AssertionError("the script asked the LLM nothing")


def prompt_of(method, task):
    return mpe_prompt(task) if method == "mpe" else mujoco_prompt(task)


def text_of(messages):
    return "\n".join(m["content"] for m in messages)


def forbidden_in(text):
    return [f"{why} ({m.group(0)!r})" for pattern, why in FORBIDDEN.items() for m in [re.search(pattern, text, re.I)] if m]


def numbers_in(text):
    return {float(x) for x in NUMBER.findall(text)}


def numbers_used(source):
    """(|value|, where) of every numeric constant of the code; where: 'slice_end' (the exclusive end of a slice),
    'threshold' (a side of a comparison), 'factor' (an operand of *, / or **) or 'other'."""
    tree = ast.parse(source)

    def unwrapped(node):
        return node.operand if isinstance(node, ast.UnaryOp) else node

    def ids(nodes):
        return {id(unwrapped(n)) for n in nodes}

    slice_ends = ids(n.upper for n in ast.walk(tree) if isinstance(n, ast.Slice) and n.upper is not None)
    thresholds = ids(c for n in ast.walk(tree) if isinstance(n, ast.Compare) for c in [n.left, *n.comparators])
    factors = ids(c for n in ast.walk(tree) if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult | ast.Div | ast.Pow)
                  for c in (n.left, n.right))
    where = [(slice_ends, "slice_end"), (thresholds, "threshold"), (factors, "factor")]
    return [(abs(n.value), next((name for pool, name in where if id(n) in pool), "other"))
            for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, int | float) and not isinstance(n.value, bool)]


def unstated_numbers(source, stated):
    """The numbers of the code that its prompt does not state. Neutral numbers are allowed except as a comparison's
    threshold (0 only), epsilons only where they guard (not as a factor), and a slice's exclusive end may be a stated
    index + 1."""

    def is_in(value, pool):
        return any(math.isclose(value, p, rel_tol=1e-9, abs_tol=1e-12) for p in pool)

    bad = []
    for value, where in numbers_used(source):
        if where == "threshold":
            ok = value == 0 or is_in(value, stated)
        else:
            ok = is_in(value, stated) or is_in(value, NEUTRAL) or (where != "factor" and 0 < value <= EPSILON)
            ok = ok or (where == "slice_end" and is_in(value - 1, stated))
        if not ok:
            bad.append(f"{value:g} ({where})")
    return bad


CASES = [("mpe", s) for s in MPE_SCENARIOS] + [("mujoco", e) for e in MUJOCO_ENVS]


# The prompts
@pytest.mark.parametrize("method,task", CASES)
def test_prompt_states_no_privileged_fact(method, task):
    assert forbidden_in(text_of(prompt_of(method, task))) == []


@pytest.mark.parametrize("scenario", MPE_SCENARIOS)
def test_mpe_prompt_states_goal_distance_and_layout(scenario):
    m = mpe()
    scn, text = m.SCENARIOS[scenario], text_of(mpe_prompt(scenario))
    distance = scn["collide_dist"] if scn["kind"] == "spread" else scn["catch_dist"]
    assert re.search(rf"distance is (at most|below) {re.escape(f'{distance:g}')}\b", text)
    assert ("fixed obstacles" in text) == (scn["kind"] == "tag")
    slices = [tuple(map(int, s)) for s in re.findall(r"observation\[:, (\d+):(\d+)\]", text)]
    layout = m.observation_layout(scn)
    assert [b - a for a, b in slices] == [size for _, size, _ in layout]  # one slice per group, in order
    assert slices[0][0] == 0 and all(a[1] == b[0] for a, b in zip(slices, slices[1:]))
    assert f"a vector of {slices[-1][1]} numbers" in text


@pytest.mark.parametrize("name", MUJOCO_ENVS)
def test_mujoco_prompt_describes_every_entry_once(name):
    env = td3().make_env(f"{name}-v5", 0)
    form = (ROOT / "prompts" / "lare" / "mujoco" / "envs" / f"{name}.observation.txt").read_text()
    observation, action = form.split("Action, index: meaning")
    for part, dim in ((observation, env.observation_space.shape[0]), (action, env.action_space.shape[0])):
        covered = []
        for first, last in re.findall(r"^(\d+)(?:-(\d+))?:", part, re.M):
            covered += range(int(first), int(last or first) + 1)
        assert covered == list(range(dim)), name
    assert f"a vector of {env.observation_space.shape[0]} numbers" in text_of(mujoco_prompt(name))


def test_the_forbidden_patterns_catch_what_the_old_prompts_said():
    old = [  # sentences of the prompts before 2026-12-07
        "The team of predators is rewarded +10 every step for every contact between a predator and a prey",
        "At every step the team is penalised by the sum, over the landmarks, of the distance",
        "a predator bumps into a landmark when their distance is below 0.275",
        "Positions are in world units; the agents start in [-1, 1] x [-1, 1].",
        "Action (17 numbers in [-0.4, 0.4]): torques at the 17 joints",
        "The episode ends early when the torso height leaves the range 0.8 to 2.0 m",
        "or the torso angle leaves the range -1 to 1 rad; otherwise it lasts 1000 steps",
        "the robot cannot fall and the episode never ends early",
        "The robot should stand up with safe control that avoids excessive torque and violent impacts with the ground.",
        "0: z coordinate (height) of the torso (m); about 0.1 when lying, about 1.4 when standing upright",
        "raising its torso as high as possible as quickly as possible",
        "HalfCheetah (Gymnasium MuJoCo HalfCheetah-v5): a planar two-legged cat-like robot",
        "6 slower predators (the learning agents) chase 2 faster prey on a 2-D plane with 3 large landmarks",
        "The prey run away from the predators with a fixed policy.",
        "A small neural network will later combine your factors into a per-agent, per-step reward",
        "You are an expert in multi-agent reinforcement learning and credit assignment.",
    ]
    assert [sentence for sentence in old if not forbidden_in(sentence)] == []


# The shipped answers
def answer_folders():
    return [(method, task) for method, task in CASES if (ANSWERS / method / task / "manifest.json").exists()]


def entries(method, task):
    return json.loads((ANSWERS / method / task / "manifest.json").read_text())["entries"]


def test_every_task_ships_answers():
    assert answer_folders() == CASES


@pytest.mark.parametrize("method,task", CASES)
def test_answers_are_reference_and_written_from_the_prompt_alone(method, task):
    for e in entries(method, task):
        p = e["provenance"]
        assert p["source"] == "reference" and p["date"] >= RULE_DATE and RULE in p["note"], e["file"]


@pytest.mark.parametrize("method,task", CASES)
def test_answers_use_only_numbers_their_prompt_states(method, task):
    stated = numbers_in(text_of(prompt_of(method, task)))  # the candidates' prompt; the merge's adds only their code
    sources = {}
    for e in entries(method, task):
        answer = json.loads((ANSWERS / method / task / e["file"]).read_text())
        sources[e["file"]] = answer["function"]
        assert unstated_numbers(answer["function"], stated) == [], e["file"]
        assert forbidden_in(answer["understanding"] + "\n" + answer["analysis"]) == [], e["file"]
    candidates = [s for f, s in sources.items() if f.startswith("candidates")]
    assert len(candidates) == 5 and len(set(candidates)) == 5  # five different answers
    assert "merge_s0.json" in sources


def test_the_number_check_catches_what_the_old_answers_used():
    stated = numbers_in("observation[:, 0:2] ... observation[:, 20:24] ... distance is below 0.125; 11-16: joints")
    old = {
        "bump = (np.linalg.norm(landmarks[:, 0], axis=1, keepdims=True) < 0.275)": "0.275 (threshold)",
        "outside = (np.max(np.abs(observation[:, 2:4]), axis=1, keepdims=True) > 1.0)": "1 (threshold)",
        "on_landmark = (my_distance < 0.1)": "0.1 (threshold)",
        "healthy = (height > 0.8) & (height < 2.0)": "0.8 (threshold)",
        "impact = np.minimum(5e-7 * contact, 10.0)": "5e-07 (factor)",
        "closeness = np.exp(-distance / 0.05)": "0.05 (factor)",
    }
    for line, caught in old.items():
        assert caught in unstated_numbers(line, stated), line
    ok = "prey = observation[:, 20:24]\ncatch = (d < 0.125) * 0.5 + np.log(d + 1e-6) + observation[:, 11:17].sum(-1)"
    assert unstated_numbers(ok, stated) == []
