"""Build llm_outputs/oni/reference_labels.json: real NetHack messages with the project's keyword-rule ONI labels.

1. Collect: play each task of the ONI experiment through the training script's own environment (`make_env`: the
   extended action set, ONI's prompt and --More-- handling, reset messages included) with uniformly random actions
   for --steps steps per task, counting every non-empty message.
2. Keep the --top most frequent unique messages.
3. Label each with RULES below (1 = FOO, "real progress" in the words of prompts/oni/classify.txt: kills, experience,
   gold, items picked up, going deeper; 0 = BAR: everything else). The rules are written into the file too: in
   cached mode they label the messages the table does not list (random play rarely reaches, e.g., the stairs), so a
   run gets a label for every message, as ONI's LLM gives one. These are the project's own labels written as rules,
   not answers from a model, so the file's provenance is `reference`.

    python llm_outputs/oni/make_reference_labels.py                 (the shipped file: 1M steps per task, top 3000)
    python llm_outputs/oni/make_reference_labels.py --relabel       (re-apply edited rules to the same messages)
"""

import argparse
import collections
import json
import runpy
from pathlib import Path

import numpy as np

from llmcode import reference_provenance
from llmcode.annotator import keyword_label

REPO = Path(__file__).resolve().parents[2]
TASKS = ("NetHackScoreExtendedActions-v1", "NetHackStaircaseLvl3ExtendedActions-v1")  # the oni experiment's tasks

# A message is FOO (1) when one of these matches (case-insensitive) and no exception does; otherwise BAR (0).
RULES = {
    "label_1": [
        r"\byou (kill|destroy)\b",
        r"\bis (killed|destroyed)\b",
        r"welcome to experience level",
        r"you feel more experienced",
        r"\bgold pieces?\b",
        r"counting money",
        r"\b[a-zA-Z$] - ",  # an item entered the inventory ("f - a scroll labeled ...")
        r"you find a (hidden|trap door)",
        r"you (climb|fall) (down|through)",
        r"you descend the stairs",
        r"you enter .*(shop|temple)",
        r"you feel a strange vibration",
        r"there is a staircase down here",
        r"you hear the footsteps of a guard on patrol",  # a vault with gold on the level
    ],
    # a pet taking the gold, or being punished with a ball and chain
    "except": [r"(kitten|little dog|pony|dog|cat) picks up", r"heavy iron ball"],
}


def collect(steps_per_task: int, seed: int) -> collections.Counter:
    script = runpy.run_path(str(REPO / "algos" / "appo_oni_nethack.py"), run_name="oni_labels")
    counts: collections.Counter = collections.Counter()
    for t, task in enumerate(TASKS):
        env = script["make_env"](task)
        rng = np.random.default_rng([seed, t])
        obs = script["seeded_reset"](env, rng)
        for _ in range(steps_per_task):
            text = script["decode_message"](obs["message"])
            if text:
                counts[text] += 1
            obs, _, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
            if terminated or truncated:
                obs = script["seeded_reset"](env, rng)
        env.close()
        print(f"{task}: {steps_per_task} random steps, {len(counts)} unique messages so far")
    return counts


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000, help="random steps per task")
    parser.add_argument("--top", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--relabel", action="store_true", help="keep the messages of --out, only re-apply the rules")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "reference_labels.json"))
    args = parser.parse_args()
    if args.relabel:
        old = json.loads(Path(args.out).read_text(encoding="utf-8"))
        counts = collections.Counter(old["counts"])
        args.steps, args.seed = old["collection"]["steps_per_task"], old["collection"]["seed"]
        seen = old["collection"]["unique_messages_seen"]
    else:
        counts = collect(args.steps, args.seed)
        seen = len(counts)
    top = counts.most_common(args.top)
    labels = {message: keyword_label(message, RULES) for message, _ in top}
    note = (f"Messages: the {len(top)} most frequent unique messages of {args.steps} steps of uniformly random play on "
            f"each of {', '.join(TASKS)} through algos/appo_oni_nethack.py's make_env (seed {args.seed}). Labels: the "
            "project's keyword rules (`rules`, also applied in cached mode to messages the table lacks; "
            "llm_outputs/oni/make_reference_labels.py): 1 = FOO for kills, experience, gold, items picked up, going "
            "deeper; 0 = BAR. Not written by a language model.")
    out = {"provenance": reference_provenance(note), "label_format": "1 = FOO (helpful), 0 = BAR",
           "collection": {"tasks": list(TASKS), "steps_per_task": args.steps, "seed": args.seed,
                          "unique_messages_seen": seen},
           "rules": RULES, "counts": {message: n for message, n in top}, "labels": labels}
    Path(args.out).write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {len(labels)} messages, {sum(labels.values())} labelled FOO")
