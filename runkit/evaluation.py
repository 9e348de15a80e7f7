"""The papers' final evaluation of a selected reward: retrained from scratch on new seeds, reported as mean and spread.

ProgressCounts and Eureka both select their reward by a number measured during the selection (the best max success
rate among the candidates), then retrain the selected reward on 5 new seeds and report those runs. The selection's
number is biased upwards (it is a maximum over candidates), so a summary keeps the two apart.
"""

from __future__ import annotations

import numpy as np


def evaluation_seed(seed: int, k: int) -> int:
    """The k-th evaluation seed of a selection run with `seed`: never a seed the selection trained with (Eureka's
    candidates use seed·10000 + 100·iteration + sample with iteration < 99), nor one of another seed's evaluation."""
    return seed * 10_000 + 9_900 + k


def evaluation_summary(seeds: list[int], runs: list[dict]) -> dict:
    """Summary entries of an evaluation from its runs' summaries (a failed run has status != "ok"): the per-seed
    numbers under `evaluation`, and their means at the top level (`eval_*`), where a report reads a run's headline."""

    def mean(values):
        values = [v for v in values if v is not None]
        return float(np.mean(values)) if values else None

    ok = [r for r in runs if r.get("status", "ok") == "ok"]
    successes = [r["max_success_rate"] for r in ok]
    evaluation = {
        "seeds": seeds,
        "max_success_rates": [r.get("max_success_rate") for r in runs],
        "max_success_rate_mean": mean(successes),
        "max_success_rate_std": float(np.std(successes)) if successes else None,
        "final_success_rates": [r.get("final_success_rate") for r in runs],
        "final_episodic_human_returns": [r.get("final_episodic_human_return") for r in runs],
        "failures": [r.get("error") for r in runs if r.get("status", "ok") != "ok"],
    }
    return {
        "evaluation": evaluation,
        "eval_max_success_rate": evaluation["max_success_rate_mean"],
        "eval_final_success_rate": mean(evaluation["final_success_rates"]),
        "eval_final_episodic_human_return": mean(evaluation["final_episodic_human_returns"]),
        "evaluation_history": ok[0].get("history", []) if ok else [],
    }


NO_EVALUATION = {"evaluation": None, "eval_max_success_rate": None, "eval_final_success_rate": None,
                 "eval_final_episodic_human_return": None, "evaluation_history": []}
