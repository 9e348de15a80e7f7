"""Build llm_outputs/oni/reference_labels.json: real NetHack messages with hand-written (rule-based) ONI labels.

1. Collect: play NetHackScore with uniformly random actions over the extended action set (the 23 task actions plus
   CAST, QUAFF, PRAY, PICKUP, PAY) for --seconds, counting every non-empty message.
2. Keep the --top most frequent unique messages.
3. Label each with the rules in RULES below (1 = FOO, "helpful toward progress": kills, experience, gold, items picked
   up, going down; 0 = BAR: everything else). These are the project's own labels written as rules, not answers from
   a model API, so the file's provenance is `reference`.

    python llm_outputs/oni/make_reference_labels.py --seconds 200 --top 3000   (the shipped file)
    python llm_outputs/oni/make_reference_labels.py --relabel                 (re-apply edited rules only)
"""

import argparse
import collections
import json
import re
import time
from pathlib import Path

import numpy as np

from llmcode import reference_provenance

# A message is FOO (1) when one of these matches; otherwise BAR (0). Written from the ONI classification prompt's
# notion of "helpful for progress": score (killing monsters, gold), experience, useful items, descending.
RULES = [
    r"\byou (kill|destroy)\b",
    r"\bis (killed|destroyed)\b",
    r"welcome to experience level",
    r"you feel more experienced",
    r"\bgold pieces?\b",
    r"counting money",
    r"\b[a-zA-Z$] - ",  # an item entered the inventory ("f - a scroll labeled ...")
    r"you find a (hidden|trap door)",
    r"you (climb|fall) (down|through)",
    r"you enter .*(shop|temple)",
    r"you feel a strange vibration",
    r"there is a staircase down here",
    r"you hear the footsteps of a guard on patrol",  # a vault with gold on the level
]
# ...unless one of these matches: a pet taking the gold, or being punished with a ball and chain.
EXCEPTIONS = [
    r"(kitten|little dog|pony|dog|cat) picks up",
    r"heavy iron ball",
]
RULE_RE = [re.compile(rule, re.IGNORECASE) for rule in RULES]
EXCEPTION_RE = [re.compile(rule, re.IGNORECASE) for rule in EXCEPTIONS]


def rule_label(message: str) -> int:
    if any(rule.search(message) for rule in EXCEPTION_RE):
        return 0
    return int(any(rule.search(message) for rule in RULE_RE))


def collect(seconds: float, seed: int) -> collections.Counter:
    import gymnasium as gym
    import nle  # noqa: F401  (registers the NetHack envs)
    from nle import nethack
    from nle.env import tasks

    actions = tuple(tasks.TASK_ACTIONS) + (nethack.Command.CAST, nethack.Command.QUAFF, nethack.Command.PRAY,
                                           nethack.Command.PICKUP, nethack.Command.PAY)
    env = gym.make("NetHackScore-v0", actions=actions, observation_keys=("message",))
    rng = np.random.default_rng(seed)
    counts: collections.Counter = collections.Counter()
    obs, _ = env.reset(seed=seed)
    start, steps = time.time(), 0
    while time.time() - start < seconds:
        obs, _, terminated, truncated, _ = env.step(int(rng.integers(len(actions))))
        steps += 1
        text = bytes(obs["message"]).split(b"\0", 1)[0].decode("latin-1").strip()
        if text:
            counts[text] += 1
        if terminated or truncated:
            obs, _ = env.reset()
    print(f"{steps} random steps in {time.time() - start:.0f} s, {len(counts)} unique messages")
    return counts


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=240)
    parser.add_argument("--top", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--relabel", action="store_true", help="keep the messages of --out, only re-apply the rules")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "reference_labels.json"))
    args = parser.parse_args()
    if args.relabel:
        old = json.loads(Path(args.out).read_text(encoding="utf-8"))
        counts = collections.Counter(old["counts"])
        args.seconds, args.seed = old["collection"]["seconds"], old["collection"]["seed"]
        seen = old["collection"]["unique_messages_seen"]
    else:
        counts = collect(args.seconds, args.seed)
        seen = len(counts)
    top = counts.most_common(args.top)
    labels = {message: rule_label(message) for message, _ in top}
    note = (f"Messages: the {len(top)} most frequent unique messages of {args.seconds:.0f} s of uniformly random play "
            f"(NetHackScore, extended actions, seed {args.seed}). Labels: written by the project's keyword rules in "
            "llm_outputs/oni/make_reference_labels.py (1 = FOO helpful: kills, experience, gold, items picked up, "
            "descending; 0 = BAR), not by a language model.")
    out = {"provenance": reference_provenance(note), "label_format": "1 = FOO (helpful), 0 = BAR",
           "collection": {"seconds": args.seconds, "seed": args.seed, "unique_messages_seen": seen},
           "counts": {message: n for message, n in top}, "labels": labels}
    Path(args.out).write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {len(labels)} messages, {sum(labels.values())} labelled FOO")
