"""Build llm_outputs/eureka/<Task>/: a complete Eureka search transcript whose answers are hand-written reward designs.

The project has no LLM API, so the shipped transcripts are not recorded from a model. This script runs the real search
loop of algos/ppo_eureka_isaac.py (real prompts, real PPO training of every candidate, real reward reflection and elite
selection) and answers each prompt with a *reference responder* instead of a model:

- iteration 0 (the prompt is [system, user]): sample k is the project's hand-written design k (cycling through
  TEMPLATES; from the second cycle on, with its tunable weights rescaled by seeded random factors);
- later iterations (the prompt is [system, user, elite answer, elite reflection]): three of every four samples rescale
  the elite's tunable weights (lines marked `# tunable`) by seeded random factors in [1/2, 2]; every fourth sample is
  another hand-written design with rescaled weights; after an error feedback, the designs start afresh.

Every answer is stored with provenance `reference` and a note that says exactly this. The elites, and so the later
answers, depend on the training results at the candidate budget the script is run with (stated in the note).

Shipped transcripts (16 samples x 5 iterations at a tiny candidate budget: 10 PPO iterations, so that one episode ends;
about two minutes of CPU per task):

    python llm_outputs/eureka/make_reference_transcripts.py --tasks ShadowHandOver ShadowHandCatchUnderarm \
        --num-envs 8 --num-steps 8 --candidate-timesteps 640 --hidden-sizes 32 32

At a real budget (the elites then reflect real learning; hours per task on a GPU):

    python llm_outputs/eureka/make_reference_transcripts.py --tasks ShadowHandOver ShadowHandCatchUnderarm \
        --num-envs 2048 --candidate-timesteps 10000000 --hidden-sizes 1024 1024 512 --cuda --parallel-candidates 4
"""

import argparse
import importlib.util
import math
import random
import re
import shutil
import sys
import tempfile
from pathlib import Path

import torch

from llmcode.cache import AnswerCache, reference_provenance

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

# Hand-written reward designs for the object-throwing tasks (the same state keys exist in all of them).
# Lines ending in `# tunable` hold the weights and temperatures that later iterations rescale.
TEMPLATES = {
    "goal_distance_exp": '''def compute_reward(state):
    # design: goal_distance_exp
    goal_temp = 0.1  # tunable
    success_bonus = 5.0  # tunable
    goal_dist = torch.linalg.vector_norm(state["object_pos"] - state["goal_pos"], dim=-1)
    goal_reward = torch.exp(-goal_dist / goal_temp)
    success_reward = success_bonus * (goal_dist < 0.03).float()
    reward = goal_reward + success_reward
    return reward, {"goal_reward": goal_reward, "success_reward": success_reward}
''',
    "staged_throw_catch": '''def compute_reward(state):
    # design: staged_throw_catch
    catch_temp = 0.2  # tunable
    goal_temp = 0.05  # tunable
    catch_weight = 1.0  # tunable
    goal_weight = 2.0  # tunable
    to_left_hand = torch.linalg.vector_norm(state["object_pos"] - state["left_hand_pos"], dim=-1)
    goal_dist = torch.linalg.vector_norm(state["object_pos"] - state["goal_pos"], dim=-1)
    catch_reward = catch_weight * torch.exp(-to_left_hand / catch_temp)
    goal_reward = goal_weight * torch.exp(-goal_dist / goal_temp)
    reward = catch_reward + goal_reward
    return reward, {"catch_reward": catch_reward, "goal_reward": goal_reward}
''',
    "velocity_toward_goal": '''def compute_reward(state):
    # design: velocity_toward_goal
    velocity_weight = 0.5  # tunable
    distance_weight = 1.0  # tunable
    drop_penalty = 2.0  # tunable
    drop_margin = 0.3  # tunable
    offset = state["goal_pos"] - state["object_pos"]
    goal_dist = torch.linalg.vector_norm(offset, dim=-1)
    direction = offset / (goal_dist.unsqueeze(-1) + 1e-6)
    speed_toward_goal = (state["object_linvel"] * direction).sum(dim=-1).clamp(-2.0, 2.0)
    velocity_reward = velocity_weight * speed_toward_goal * (goal_dist > 0.05).float()
    distance_penalty = -distance_weight * goal_dist
    dropped = (state["object_pos"][:, 2] < state["goal_pos"][:, 2] - drop_margin).float()
    drop_reward = -drop_penalty * dropped
    reward = velocity_reward + distance_penalty + drop_reward
    return reward, {"velocity_reward": velocity_reward, "distance_penalty": distance_penalty, "drop_reward": drop_reward}
''',
    "fingertip_catch": '''def compute_reward(state):
    # design: fingertip_catch
    fingertip_temp = 0.3  # tunable
    goal_temp = 0.1  # tunable
    fingertip_weight = 0.5  # tunable
    goal_weight = 1.0  # tunable
    tips = state["fingertip_another_pos"]
    fingertip_dist = torch.linalg.vector_norm(tips - state["object_pos"].unsqueeze(1), dim=-1).mean(dim=-1)
    goal_dist = torch.linalg.vector_norm(state["object_pos"] - state["goal_pos"], dim=-1)
    grasp_reward = fingertip_weight * torch.exp(-fingertip_dist / fingertip_temp)
    goal_reward = goal_weight * torch.exp(-goal_dist / goal_temp)
    reward = grasp_reward + goal_reward
    return reward, {"grasp_reward": grasp_reward, "goal_reward": goal_reward}
''',
}
SUPPORTED_TASKS = ("ShadowHandOver", "ShadowHandCatchUnderarm")
TUNABLE = re.compile(r"^(?P<head>\s*\w+ = )(?P<value>[-+0-9.eE]+)(?P<tail>  # tunable)$", re.M)
DESIGN = re.compile(r"# design: (\w+)")
ERROR_MARK = "failed with this error"  # prompts/eureka/execution_error.txt


def load_eureka():
    spec = importlib.util.spec_from_file_location("ppo_eureka_isaac", REPO / "algos" / "ppo_eureka_isaac.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def rescale(code: str, rng: random.Random) -> str:
    """Multiply every tunable constant by a factor in [1/2, 2] (log-uniform)."""

    def one(match: re.Match) -> str:
        value = float(match.group("value")) * math.exp(rng.uniform(-math.log(2), math.log(2)))
        return f"{match.group('head')}{value:.3g}{match.group('tail')}"

    return TUNABLE.sub(one, code)


def answer(code: str, origin: str) -> str:
    design = DESIGN.search(code).group(1)
    return f"Reward design `{design}` ({origin}).\n\n```python\n{code}```\n"


class ReferenceResponder:
    """Answers Eureka prompts like `LLMClient.ask`, from TEMPLATES, and stores them with `reference` provenance."""

    def __init__(self, task: str, folder: Path, note: str):
        self.task = task
        self.cache = AnswerCache(folder)
        self.note = note

    def texts(self, messages: list[dict], n: int, position: str) -> list[str]:
        names = list(TEMPLATES)
        rngs = [random.Random(f"{self.task}/{position}/{k}") for k in range(n)]
        fresh = len(messages) == 2 or ERROR_MARK in messages[3]["content"]
        if fresh:
            return [answer(TEMPLATES[names[k % len(names)]] if k < len(names) else rescale(TEMPLATES[names[k % len(names)]], rngs[k]),
                           "hand-written template" + ("" if k < len(names) else ", weights rescaled")) for k in range(n)]
        elite = re.search(r"```python\n(.*?)```", messages[2]["content"], re.S).group(1)
        elite_design = DESIGN.search(elite).group(1)
        others = [name for name in names if name != elite_design]
        texts = []
        for k in range(n):
            if k % 4 == 3:
                other = others[(k // 4) % len(others)]
                texts.append(answer(rescale(TEMPLATES[other], rngs[k]), "another hand-written template, weights rescaled"))
            else:
                texts.append(answer(rescale(elite, rngs[k]), "the previous elite with its weights rescaled"))
        return texts

    def ask(self, messages, n, position=None, temperature=None):
        provenance = reference_provenance(note=self.note)
        return [self.cache.add(messages, k, text, provenance, position=position)
                for k, text in enumerate(self.texts(messages, n, position))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(SUPPORTED_TASKS), choices=SUPPORTED_TASKS)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--num-steps", type=int, default=8)
    parser.add_argument("--candidate-timesteps", type=int, default=640)
    parser.add_argument("--hidden-sizes", type=int, nargs="+", default=[32, 32])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cuda", action="store_true", help="train the candidates on the GPU when one is available")
    parser.add_argument("--parallel-candidates", type=int, default=1)
    opts = parser.parse_args()
    torch.set_num_threads(1)
    eureka = load_eureka()
    for task in opts.tasks:
        folder = HERE / task
        shutil.rmtree(folder, ignore_errors=True)  # a transcript is one search: never mix two
        budget = (f"{opts.samples} samples x {opts.iterations} iterations, {opts.candidate_timesteps} env steps per candidate "
                  f"({opts.num_envs} envs x {opts.num_steps} steps, hidden {opts.hidden_sizes}), seed {opts.seed}")
        note = ("answered by llm_outputs/eureka/make_reference_transcripts.py from the project's hand-written reward "
                f"templates (later iterations rescale the elite's weights); not recorded from a model; search run at {budget}")
        args = eureka.Args(task=task, seed=opts.seed, samples=opts.samples, iterations=opts.iterations, num_envs=opts.num_envs,
                           num_steps=opts.num_steps, candidate_timesteps=opts.candidate_timesteps,
                           hidden_sizes=tuple(opts.hidden_sizes), eval_seeds=0, cuda=opts.cuda, max_retries=0,
                           parallel_candidates=opts.parallel_candidates)
        with tempfile.TemporaryDirectory() as run_dir:
            summary = eureka.search(args, Path(run_dir), client=ReferenceResponder(task, folder, note))
        print(f"{task}: {len(summary['candidates'])} candidates, best {summary['best']['label']}")


if __name__ == "__main__":
    main()
