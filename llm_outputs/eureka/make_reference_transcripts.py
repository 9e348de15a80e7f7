"""Build llm_outputs/eureka/<Task>/: a complete Eureka search transcript whose answers are hand-written reward designs.

The project has no LLM API, so the shipped transcripts are not recorded from a model. This script runs the real search
loop of algos/ppo_eureka_isaac.py (real prompts, real PPO training of every candidate, real reward reflection and elite
selection) and answers each prompt with a *reference responder* instead of a model:

- iteration 0 (the prompt is [system, user]): sample k is the task's hand-written design k (cycling through the
  designs of the task's family in reference_designs/; from the second cycle on, with its tunable weights rescaled by
  seeded random factors);
- later iterations (the prompt is [system, user, elite answer, elite reflection]): three of every four samples rescale
  the elite's tunable weights (lines marked `# tunable`) by seeded random factors in [1/2, 2]; every fourth sample is
  another hand-written design with rescaled weights; after an error feedback, the designs start afresh.

Every answer is stored with provenance `reference` and a note that says exactly this. The elites, and so the later
answers, depend on the training results at the candidate budget the script is run with (stated in the note). Before
a task's search, every design of the task is run through the safe runner on the task's state (at reset and after a
few random steps): a design that fails stops the script instead of becoming a failed candidate.

Shipped transcripts, one per dexhands task (16 samples x 5 iterations at a tiny candidate budget: 10 PPO iterations
of 8 envs x 8 steps, 80 steps per env, so that one episode ends in the 75-step throwing tasks; tasks with longer
episodes and no early reset reflect "no episode ended"; a few minutes of CPU per task). With no --tasks, the script
generates every dexhands task that has no transcript yet (a new task: write its designs, then run this; about 1 min of
CPU per task on Eureka's PPO):

    python llm_outputs/eureka/make_reference_transcripts.py \
        --num-envs 8 --num-steps 8 --candidate-timesteps 640 --hidden-sizes 32 32

--tasks <Task> ... regenerates those tasks (their folders are replaced); --check-only only runs the designs.
At a real budget (the elites then reflect real learning; hours per task on a GPU):

    python llm_outputs/eureka/make_reference_transcripts.py --tasks ShadowHandOver ShadowHandCatchUnderarm \
        --num-envs 2048 --candidate-timesteps 10000000 --hidden-sizes 512 256 128 --cuda --parallel-candidates 4
"""

import argparse
import importlib.util
import math
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import torch
from reference_designs import designs_for, supported_tasks  # the folder next to this script

import dexhands
from llmcode.cache import AnswerCache, reference_provenance

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

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
    """Answers Eureka prompts like `LLMClient.ask`, from the task's designs, and stores them with `reference` provenance."""

    def __init__(self, task: str, designs: dict[str, str], folder: Path, note: str):
        self.task = task
        self.designs = designs
        self.cache = AnswerCache(folder)
        self.note = note

    def texts(self, messages: list[dict], n: int, position: str) -> list[str]:
        names = list(self.designs)
        rngs = [random.Random(f"{self.task}/{position}/{k}") for k in range(n)]
        fresh = len(messages) == 2 or ERROR_MARK in messages[3]["content"]
        if fresh:
            first_cycle = [answer(self.designs[name], "hand-written template") for name in names]
            later = [answer(rescale(self.designs[names[k % len(names)]], rngs[k]), "hand-written template, weights rescaled")
                     for k in range(len(names), n)]
            return (first_cycle + later)[:n]
        elite = re.search(r"```python\n(.*?)```", messages[2]["content"], re.S).group(1)
        elite_design = DESIGN.search(elite).group(1)
        others = [name for name in names if name != elite_design]
        texts = []
        for k in range(n):
            if k % 4 == 3:
                other = others[(k // 4) % len(others)]
                texts.append(answer(rescale(self.designs[other], rngs[k]), "another hand-written template, weights rescaled"))
            else:
                texts.append(answer(rescale(elite, rngs[k]), "the previous elite with its weights rescaled"))
        return texts

    def ask(self, messages, n, position=None, temperature=None):
        provenance = reference_provenance(note=self.note)
        return [self.cache.add(messages, k, text, provenance, position=position)
                for k, text in enumerate(self.texts(messages, n, position))]


def check_designs(eureka, task: str, designs: dict[str, str], num_envs: int = 4) -> None:
    """Every design must pass the safe runner and the reward contract on its task, at reset and after random steps:
    a design that fails would only show up as a failed candidate in the transcript."""
    env = dexhands.make(task, num_envs=num_envs, device="cpu", backend="mujoco", seed=0, num_threads=1)
    env.reset()
    states = [dict(env.state)]
    generator = torch.Generator().manual_seed(0)
    for _ in range(3):
        _, _, _, _, info = env.step(torch.rand((num_envs, env.act_dim), generator=generator) * 2.0 - 1.0)
        states.append(info["final_state"])
    problems = []
    for name, code in designs.items():
        if DESIGN.search(code) is None or DESIGN.search(code).group(1) != name:
            problems.append(f"{name}: its code must say `# design: {name}`")
            continue
        if not TUNABLE.search(code):
            problems.append(f"{name}: no `# tunable` line (later iterations rescale those)")
        try:
            fn = eureka.compile_llm_function(code, entry="compute_reward", validate=eureka.reward_validator(num_envs))
            for state in states:
                fn(state)
        except eureka.LLMCodeError as error:
            problems.append(f"{name}: {error}")
    if problems:
        raise SystemExit(f"{task}: reference designs that fail:\n" + "\n".join(problems))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", choices=supported_tasks(),
                        help="tasks to (re)generate; default: every dexhands task without a transcript")
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--num-steps", type=int, default=8)
    parser.add_argument("--candidate-timesteps", type=int, default=640)
    parser.add_argument("--hidden-sizes", type=int, nargs="+", default=[32, 32])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cuda", action="store_true", help="train the candidates on the GPU when one is available")
    parser.add_argument("--parallel-candidates", type=int, default=1)
    parser.add_argument("--out-dir", type=Path, default=HERE, help="where the <Task>/ transcript folders go")
    parser.add_argument("--check-only", action="store_true", help="only check that every design runs on its task")
    opts = parser.parse_args()
    torch.set_num_threads(1)
    eureka = load_eureka()
    tasks = opts.tasks or [task for task in dexhands.TASKS if not (opts.out_dir / task / "manifest.json").exists()]
    missing = [task for task in tasks if task not in supported_tasks()]
    if missing:
        raise SystemExit(f"no reference designs for {missing}: write them in {HERE / 'reference_designs'} first")
    for task in tasks:
        designs = designs_for(task)
        check_designs(eureka, task, designs)
        if opts.check_only:
            print(f"{task}: {len(designs)} designs run")
            continue
        start = time.time()
        folder = opts.out_dir / task
        for path in folder.glob("*") if folder.is_dir() else ():  # a transcript is one search: never mix two
            if path.is_file():  # (the recorded-<model>/ folders of record mode are left alone)
                path.unlink()
        budget = (f"{opts.samples} samples x {opts.iterations} iterations, {opts.candidate_timesteps} env steps per candidate "
                  f"({opts.num_envs} envs x {opts.num_steps} steps, hidden {opts.hidden_sizes}, Eureka's rl_games PPO), "
                  f"seed {opts.seed}")
        note = ("answered by llm_outputs/eureka/make_reference_transcripts.py from the project's hand-written reward "
                f"templates (later iterations rescale the elite's weights); not recorded from a model; search run at {budget}")
        args = eureka.Args(task=task, seed=opts.seed, samples=opts.samples, iterations=opts.iterations, num_envs=opts.num_envs,
                           num_steps=opts.num_steps, candidate_timesteps=opts.candidate_timesteps,
                           hidden_sizes=tuple(opts.hidden_sizes), eval_seeds=0, cuda=opts.cuda, max_retries=0,
                           parallel_candidates=opts.parallel_candidates)
        with tempfile.TemporaryDirectory() as run_dir:
            summary = eureka.search(args, Path(run_dir), client=ReferenceResponder(task, designs, folder, note))
        failed = [c for c in summary["candidates"] if c["status"] != "ok"]
        best = summary["best"]["label"] if summary["best"] else None
        print(f"{task}: {len(summary['candidates'])} candidates, {len(failed)} failed, best {best}, "
              f"{time.time() - start:.0f} s", flush=True)
        for candidate in failed:
            print(f"  {candidate['label']}: {candidate['status']}: {candidate['error'].splitlines()[0][:200]}")


if __name__ == "__main__":
    main()
