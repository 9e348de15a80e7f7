"""The benchmark's experiments: which script, which tasks, which arms are compared, and what each budget means.

One table serves both the sweep runner (`sweep.py`) and the report (`report.py`), so the report always knows
how a run folder was produced. A budget is a set of command-line flags:

- `smoke`: a few iterations, only to check that everything runs;
- `cpu`: the largest budget the project's 2-core reference machine finishes in reasonable time (stated per
  experiment below, and in the README next to the numbers it produced);
- `paper`: the papers' settings, for a GPU machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class PaperNumber:
    value: float
    source: str


@dataclass(frozen=True)
class Experiment:
    script: str
    """path of the training script, relative to the repository root"""
    tasks: tuple[str, ...]
    variants: dict[str, tuple[str, ...]]
    """arm name -> the flags that select it"""
    budgets: dict[str, tuple[str, ...]]
    metric: str
    """the headline number: a key of the run's summary.json"""
    metric_label: str
    curves: tuple[tuple[str, str], ...]
    """learning curves to plot side by side: (key of the entries of summary.json's `history`, axis label)"""
    extra_metrics: tuple[str, ...] = ()
    budget_notes: dict[str, str] = field(default_factory=dict)
    paper: dict[tuple[str, str], PaperNumber] = field(default_factory=dict)
    """(task, arm) -> the number the paper reports for the same metric"""
    task_flag: str = "--task"
    checkpoint_glob: str | None = None
    """a run folder's checkpoint (glob, relative to the seed folder): the sweep resumes an interrupted run from it"""
    aggregate_scale: str = "raw"
    """how the report puts tasks on one scale before the IQM: "raw" (rates in [0, 1]) or "minmax" (returns)"""
    history_key: str = "history"
    """the key of summary.json that holds the learning curve (a list of dicts with a `step` entry); a dotted path to a
    list of such curves (Eureka's evaluation seeds) plots them all"""
    milestones: tuple[int, ...] = ()
    """env steps at which the report gives `milestone_key` of the learning curve"""
    milestone_key: str = "success_rate"
    milestone_window: int = 250_000
    """the env steps up to a milestone over which the curve is averaged"""
    seeds: tuple[int, ...] = (1, 2, 3)
    """the seeds a sweep runs when none are given (the smoke budget runs seed 1 only)"""
    metric_samples: str | None = None
    """a dotted path to a list in summary.json whose values the report's interval runs over instead of one value per
    run (Eureka: the evaluation seeds' max success rates)"""


_PC_SOURCE = "ProgressCounts paper, best of 4 progress functions, 5 seeds, 100M steps each [secondary sources]"

PROGRESSCOUNTS = Experiment(
    script="algos/ppo_progresscounts_isaac.py",
    tasks=("ShadowHandOver", "ShadowHandCatchUnderarm"),
    variants={"sparse": ("--reward", "sparse"), "dense": ("--reward", "dense"),
              "progresscounts": ("--reward", "progresscounts"),
              "progress-as-reward": ("--reward", "progress-as-reward"),
              "simhash-counts": ("--reward", "simhash-counts")},
    budgets={
        "smoke": ("--num-envs", "16", "--hidden-sizes", "32", "32", "--total-timesteps", "2048", "--no-cuda"),
        "cpu": ("--preset", "cpu"),
        "paper": ("--preset", "paper", "--num-envs", "2048", "--total-timesteps", "100000000"),
    },
    budget_notes={
        "cpu": "the script's CPU preset: 10M env steps per run (10% of the paper's 100M), 512 envs, policy/value "
               "MLPs [256, 256, 128], progress function sample 0 (no best-of-4 selection); every arm on "
               "Bi-DexHands' PPO, all other settings as in Bi-DexHands. A run takes about 65 min at 2.6k env "
               "steps/s with two runs side by side on the project's 2-core machine (one thread each)",
        "paper": "2048 envs, MLPs [1024, 1024, 512], 100M env steps, progress function sample 0; the paper's "
                 "protocol for the progresscounts arm is the script's --select-best (best of 4 functions, then 5 "
                 "new seeds; its summary's headline is eval_max_success_rate), which this sweep does not run",
    },
    metric="max_success_rate", metric_label="max success rate over training",
    extra_metrics=("final_success_rate", "final_episodic_human_return", "distinct_bins", "sps"),
    curves=(("success_rate", "success rate"), ("episodic_human_return", "return under the human dense reward")),
    paper={("ShadowHandOver", "progresscounts"): PaperNumber(0.93, _PC_SOURCE),
           ("ShadowHandOver", "progress-as-reward"): PaperNumber(0.90, _PC_SOURCE),
           ("ShadowHandOver", "simhash-counts"): PaperNumber(0.91, _PC_SOURCE),
           ("ShadowHandCatchUnderarm", "progresscounts"): PaperNumber(0.76, _PC_SOURCE),
           ("ShadowHandCatchUnderarm", "progress-as-reward"): PaperNumber(0.88, _PC_SOURCE)},
    checkpoint_glob="*/checkpoint.pt",
    milestones=(2_500_000, 5_000_000, 10_000_000),
)

EXPERIMENTS: dict[str, Experiment] = {
    "progresscounts": PROGRESSCOUNTS,
    # Outside the paper's settings: how the count bonus's weight changes what ProgressCounts learns (issue 30).
    "progresscounts_bonus_scale": replace(
        PROGRESSCOUNTS,
        tasks=("ShadowHandOver",),
        variants={f"bonus-scale-{scale}": ("--reward", "progresscounts", "--bonus-scale", scale)
                  for scale in ("0.001", "0.01", "0.1")},
        budget_notes={
            "cpu": "a sensitivity check outside the paper's settings (the paper fixes the bonus scale at 1e-3): one "
                   "seed per scale, otherwise the progresscounts experiment's cpu budget (10M env steps, 512 envs, "
                   "MLPs [256, 256, 128], progress function sample 0, Bi-DexHands' PPO)",
        },
        paper={},
        seeds=(1,),
    ),
    "eureka": Experiment(
        script="algos/ppo_eureka_isaac.py",
        tasks=("ShadowHandOver", "ShadowHandCatchUnderarm"),
        variants={"eureka": ()},
        budgets={
            "smoke": ("--num-envs", "8", "--hidden-sizes", "32", "32", "--samples", "2", "--iterations", "2",
                      "--candidate-timesteps", "640", "--eval-seeds", "1", "--eval-timesteps", "640", "--no-cuda"),
            "cpu": ("--preset", "cpu"),
            "paper": ("--preset", "paper", "--eval-seeds", "1"),
        },
        budget_notes={
            "cpu": "one search with the script's CPU preset: 4 candidates x 2 iterations (paper: 16 x 5) of 2.5M env "
                   "steps each, then the best reward retrained on 5 new seeds for 10M env steps each (the paper's "
                   "evaluation at 10% of its budget); 512 envs, Eureka's own PPO (rl_games settings, MLPs "
                   "[512, 256, 128]), not the progresscounts arms' PPO; answers replayed from the shipped reference "
                   "transcripts by position",
            "paper": "16 candidates x 5 iterations of 49M env steps, the best reward retrained for 98M env steps; "
                     "one search per seed, 2048 envs, Eureka's rl_games PPO (MLPs [512, 256, 128])",
        },
        metric="eval_max_success_rate", metric_label="max success rate over the final evaluation's training",
        extra_metrics=("eval_final_success_rate", "eval_final_episodic_human_return", "training_seconds"),
        curves=(("success_rate", "success rate"), ("episodic_human_return", "return under the human dense reward")),
        history_key="evaluation.histories",
        metric_samples="evaluation.max_success_rates",
        milestones=(2_500_000, 5_000_000, 10_000_000),
        seeds=(1,),
    ),
    "oni": Experiment(
        script="algos/appo_oni_nethack.py",
        tasks=("NetHackScoreExtendedActions-v1", "NetHackStaircaseLvl3ExtendedActions-v1"),
        variants={"none": ("--reward-model", "none"), "retrieval": ("--reward-model", "retrieval"),
                  "classification": ("--reward-model", "classification")},
        budgets={
            "smoke": ("--total-timesteps", "2048", "--num-workers", "2", "--envs-per-worker", "2", "--rollout", "8",
                      "--batch-size", "64", "--hidden-size", "32", "--no-cuda"),
            "cpu": ("--total-timesteps", "150000"),
            "long": ("--total-timesteps", "2000000"),
            "paper": ("--total-timesteps", "2000000000"),
        },
        budget_notes={
            "cpu": "150k env steps per run (0.0075% of the paper's 2B) on ONI's task definitions, 2 actor processes x 8 "
                   "envs, our smaller policy (LSTM 256; docs/methods.md), labels replayed from the shipped reference "
                   "label table (keyword rules, not an LLM; its rules label the messages it lacks), each arriving when its "
                   "message is first seen in play. On "
                   "the sparse StaircaseLvl3 this shows whether an arm starts to find the stairs (a few hundred "
                   "episodes per run), not the paper's claim, whose curves rise over hundreds of millions of steps",
            "long": "a longer look at the sparse task: StaircaseLvl3, none vs retrieval, seed 1, 2M env steps (0.1% of "
                    "the paper's 2B), otherwise the cpu budget; checkpointed, so an interrupted run continues",
            "paper": "2B env steps; the paper ran many more actors (sample-factory) and labelled with a live LLM",
        },
        aggregate_scale="minmax", metric="mean_return_last100", metric_label="mean episodic return over the last 100 episodes",
        extra_metrics=("success_rate_last100", "max_depth_last100", "episodes", "labels", "classifier_recall_table",
                       "sps"),
        curves=(("episodic_return", "episodic return (running mean of 100 episodes)"),
                ("max_depth", "deepest level (running mean of 100 episodes)")),
        checkpoint_glob="*/checkpoint.pt",
    ),
    "lare_mujoco": Experiment(
        script="algos/td3_lare_mujoco.py", task_flag="--env-id",
        tasks=("HalfCheetah-v5", "Walker2d-v5"),
        variants={m: ("--reward-model", m) for m in ("lare", "rrd-unbiased", "ircr", "none", "dense")},
        budgets={
            "smoke": ("--total-timesteps", "600", "--learning-starts", "200", "--batch-size", "32", "--rrd-k", "8",
                      "--max-episode-steps", "100", "--eval-frequency", "300", "--eval-episodes", "1", "--no-cuda"),
            "cpu": ("--total-timesteps", "300000", "--eval-frequency", "10000", "--eval-episodes", "5",
                    "--save-model", "--checkpoint-frequency", "25000"),
            "paper": ("--total-timesteps", "1000000", "--save-model"),
        },
        budget_notes={
            "cpu": "300k env steps per run (30% of the paper's 1M; ~45-75 min per run at 60-110 steps/s with two runs side by side, "
                   "so the 30 runs take 10-12 hours on 2 cores, spread over sessions: a checkpoint every 25k steps lets "
                   "an interrupted run continue), evaluation every 10k steps over 5 episodes",
            "paper": "1M env steps, evaluation every 5k steps over 10 episodes",
        },
        checkpoint_glob="*/checkpoint.pt",
        aggregate_scale="minmax", metric="final_eval_return", metric_label="evaluation return at the end of training",
        extra_metrics=("best_eval_return", "sps"),
        curves=(("eval_return", "evaluation return (dense task reward)"),),
    ),
    "lare_mpe": Experiment(
        script="algos/ippo_lare_mpe.py", task_flag="--scenario",
        tasks=("spread_n6", "tag_n6"),
        variants={m: ("--reward-model", m) for m in ("lare", "rd", "none", "dense")},
        budgets={
            "smoke": ("--backend", "vmas", "--num-envs", "4", "--episode-length", "5", "--total-timesteps", "100",
                      "--update-epochs", "2", "--minibatch-size", "5", "--eval-frequency", "2", "--eval-episodes", "2",
                      "--reward-frequency", "1", "--reward-gradient-steps", "2", "--reward-batch-episodes", "4",
                      "--no-cuda"),
            "cpu": ("--backend", "mpe2", "--total-timesteps", "410000", "--eval-frequency", "20", "--save-model"),
            "paper": ("--backend", "mpe2", "--total-timesteps", "2050000", "--save-model"),
        },
        budget_notes={
            "cpu": "200 PPO updates of 82 envs x 25 steps (410k env steps, 20% of the paper's 1000 updates), LaRe's "
                   "noshare scenarios on the mpe2 backend (LaRe's physics), LaRe's PPO, evaluation every 20 updates "
                   "over 50 episodes",
            "paper": "1000 updates of 82 envs x 25 steps (2.05M env steps), mpe2 backend",
        },
        aggregate_scale="minmax", metric="final_eval_return", metric_label="evaluation team return at the end of training",
        extra_metrics=("best_eval_return", "sps"),
        curves=(("eval_return", "evaluation team return (the sum of every agent's own reward)"),),
        checkpoint_glob="*/checkpoint.pt",
    ),
}
