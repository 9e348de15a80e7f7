"""Run plumbing shared by the training scripts in `algos/`: what every script needs and none of them teaches.

- `cli`: `parse` (tyro with one-line errors), `check_counts` / `check_choice` / `usage_error` (one line, exit code 2),
  `apply_preset` (settings for the machine at hand that the command line can override);
- `files`: `save_atomic` / `write_json` (never half written), `load_checkpoint` (this script's format only);
- `run`: `Run`, a run's folder, TensorBoard writer, checkpoints with every random stream, Ctrl-C, summary.json;
  `resumed_args`, the settings of the run a `--resume` continues;
- `workers`: jobs in worker processes of their own (Eureka's parallel candidates);
- `evaluation`: the papers' final evaluation of a selected reward on new seeds, kept apart from the selection.
"""

from runkit.cli import apply_preset, check_choice, check_counts, given_on_command_line, parse, usage_error
from runkit.evaluation import NO_EVALUATION, evaluation_seed, evaluation_summary
from runkit.files import load_checkpoint, save_atomic, write_json
from runkit.run import CheckpointClock, Run, Stopper, announce, cpu_model, resume_command, resumed_args, stopped

__all__ = ["NO_EVALUATION", "CheckpointClock", "Run", "Stopper", "announce", "apply_preset", "check_choice",
           "check_counts", "cpu_model", "evaluation_seed", "evaluation_summary", "given_on_command_line",
           "load_checkpoint", "parse", "resume_command", "resumed_args", "save_atomic", "stopped", "usage_error",
           "write_json"]
