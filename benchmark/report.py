"""Turns a sweep's run folders into tables, learning curves and a markdown report.

Reads `<runs-root>/<budget>/<experiment>/<task>/<arm>/seed<k>/*/summary.json` (the newest finished run of each
seed) and writes `benchmark/results/<budget>/<experiment>/`: `report.md` (mean and 95% bootstrap interval over
seeds of the headline metric per task and arm, the paper's number beside it, the other metrics, throughput, and
the interquartile mean across tasks with a stratified-bootstrap interval),
`results.json` (every seed's numbers) and `<task>.png` (mean learning curves per arm, band = the 95% bootstrap
interval of the mean over seeds).

Each run's summary.json is also kept as `records/<task>/<arm>/seed<k>.json` beside the report (its learning curves
thinned to at most `RECORD_POINTS` points, enough for the plots and the milestones), and the report is built
from those records: run folders are scratch space that a machine may lose, so a sweep spread over several machines
or sessions accumulates there, and `report.py` rebuilds the report from a fresh clone. A run folder that is present
replaces its seed's record.

    python benchmark/report.py --experiments progresscounts --budget cpu
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import scipy.stats
import tyro

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from experiments import EXPERIMENTS, Experiment  # noqa: E402


@dataclass
class Args:
    experiments: tuple[str, ...] = tuple(EXPERIMENTS)
    """which experiments to report"""
    budget: str = "cpu"
    """the budget whose runs are read"""
    runs_root: str = "benchmark/runs"
    """where the sweep put its run folders"""
    results_root: str = "benchmark/results"
    """where the report goes"""
    machine: str = ""
    """a description of the machine that produced the runs, printed in the report"""


def bootstrap_interval(values: list[float], confidence: float = 0.95, resamples: int = 10_000, seed: int = 0):
    """Percentile bootstrap interval of the mean (with 3 seeds it mostly shows the spread; say so when quoting)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float(values.mean()), float(values.mean())
    rng = np.random.default_rng(seed)
    means = rng.choice(values, size=(resamples, len(values)), replace=True).mean(axis=1)
    alpha = (1.0 - confidence) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def iqm(scores: np.ndarray) -> float:
    """Interquartile mean over every run on every task (Agarwal et al., 2021): the mean of the middle 50% of scores."""
    return float(scipy.stats.trim_mean(np.asarray(scores, dtype=float).ravel(), proportiontocut=0.25))


def stratified_bootstrap_iqm(scores: np.ndarray, confidence: float = 0.95, resamples: int = 5_000, seed: int = 0):
    """IQM of a (runs, tasks) score matrix and its percentile interval, resampling runs within each task.

    The same estimator as the `rliable` library's `get_interval_estimates(..., aggregate_iqm)`; rliable itself is not
    a dependency because its `arch` import fails with pandas 3 (measured with rliable 1.2.0, arch 7.2.0)."""
    scores = np.asarray(scores, dtype=float)
    rng = np.random.default_rng(seed)
    runs, tasks = scores.shape
    picks = rng.integers(0, runs, size=(resamples, runs, tasks))
    resampled = np.take_along_axis(scores[None].repeat(resamples, axis=0), picks, axis=1)
    stats = scipy.stats.trim_mean(resampled.reshape(resamples, -1), proportiontocut=0.25, axis=1)
    alpha = (1.0 - confidence) / 2
    return iqm(scores), float(np.quantile(stats, alpha)), float(np.quantile(stats, 1 - alpha))


def aggregate_scores(exp: Experiment, found: dict) -> tuple[dict[str, np.ndarray], str]:
    """arm -> (runs, tasks) matrix of headline scores over the seeds every task has, and how they were scaled."""
    tasks = [t for t in exp.tasks if found.get(t)]
    raw = {}
    for arm in exp.variants:
        seed_sets = [set(found[t].get(arm, {})) for t in tasks]
        seeds = sorted(set.intersection(*seed_sets)) if seed_sets else []
        if seeds:
            raw[arm] = np.array([[found[t][arm][k][exp.metric] for t in tasks] for k in seeds], dtype=float)
    if exp.aggregate_scale == "raw" or not raw:
        return raw, "raw scores (already on a common 0-1 scale)"
    # Returns differ in scale between tasks: map each task's scores to [0, 1] between the lowest and the highest run
    # in this report, so that every task weighs the same. The result ranks arms; it is not comparable across reports.
    stacked = np.concatenate(list(raw.values()), axis=0)
    low, high = stacked.min(axis=0), stacked.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    return ({arm: (m - low) / span for arm, m in raw.items()},
            "each task's scores min-max normalised over all runs in this report (0 = worst run, 1 = best run)")


def collect(exp_dir: Path) -> dict[str, dict[str, dict[int, dict]]]:
    """task -> arm -> seed -> summary (the newest finished run in each seed folder)."""
    found: dict[str, dict[str, dict[int, dict]]] = {}
    for seed_dir in sorted(exp_dir.glob("*/*/seed*")):
        summaries = sorted(seed_dir.glob("*/summary.json"), key=lambda p: p.stat().st_mtime)
        if not summaries:
            continue
        task, arm, seed = seed_dir.parent.parent.name, seed_dir.parent.name, int(seed_dir.name[len("seed"):])
        found.setdefault(task, {}).setdefault(arm, {})[seed] = json.loads(summaries[-1].read_text())
    return found


def archive(found: dict[str, dict[str, dict[int, dict]]], records_dir: Path) -> None:
    for task, arms in found.items():
        for arm, seeds in arms.items():
            for seed, summary in seeds.items():
                path = records_dir / task / arm / f"seed{seed}.json"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(thin_curves(summary), indent=1) + "\n")


def load_records(records_dir: Path) -> dict[str, dict[str, dict[int, dict]]]:
    """task -> arm -> seed -> summary, from the records `archive` kept."""
    found: dict[str, dict[str, dict[int, dict]]] = {}
    for path in sorted(records_dir.glob("*/*/seed*.json")):
        task, arm, seed = path.parent.parent.name, path.parent.name, int(path.stem[len("seed"):])
        found.setdefault(task, {}).setdefault(arm, {})[seed] = json.loads(path.read_text())
    return found


RECORD_POINTS = 500
"""the most points a record keeps of each learning curve (a 10M-step run logs about 2400)"""


def thin_curves(summary):
    """A copy of a summary whose learning curves (lists of dicts with a `step`) keep at most RECORD_POINTS points,
    evenly spaced, the last one included."""
    if isinstance(summary, dict):
        return {k: thin_curves(v) for k, v in summary.items()}
    if isinstance(summary, list):
        if len(summary) > RECORD_POINTS and all(isinstance(h, dict) and "step" in h for h in summary):
            keep = np.unique(np.linspace(0, len(summary) - 1, RECORD_POINTS).round().astype(int))
            return [summary[i] for i in keep]
        return [thin_curves(v) for v in summary]
    return summary


def dotted(summary: dict, path: str):
    """summary["a"]["b"] for the path "a.b" (None where a key is missing)."""
    for part in path.split("."):
        summary = summary.get(part) if isinstance(summary, dict) else None
    return summary


def curves_of(exp: Experiment, summary: dict) -> list[list[dict]]:
    """The learning curves one record holds: its `history_key` entry, a dotted path; a list of curves (Eureka's
    evaluation seeds) gives several."""
    found = dotted(summary, exp.history_key)
    if not found:
        return []
    return found if isinstance(found[0], list) else [found]


def mean_curve(histories: list[list[dict]], key: str, points: int = 100, resamples: int = 2000):
    """Interpolates every seed's curve onto a common step grid (up to the shortest run): the grid, the mean over
    seeds and its 95% percentile-bootstrap interval at each point."""
    # Records written before the first episode ended carry no episode statistics: they are left out.
    histories = [[h for h in hist if h.get(key) is not None] for hist in histories]
    curves = [(np.array([h["step"] for h in hist]), np.array([h[key] for h in hist], dtype=float))
              for hist in histories if hist]
    if not curves:
        return None
    end = min(steps[-1] for steps, _ in curves)
    start = max(steps[0] for steps, _ in curves)
    grid = np.linspace(start, end, points)
    ys = np.stack([np.interp(grid, steps, values) for steps, values in curves])
    if len(ys) < 2:
        return grid, ys[0], ys[0], ys[0]
    picks = np.random.default_rng(0).integers(0, len(ys), size=(resamples, len(ys)))
    means = ys[picks].mean(axis=1)
    return grid, ys.mean(axis=0), np.quantile(means, 0.025, axis=0), np.quantile(means, 0.975, axis=0)


def value_at(history: list[dict], key: str, step: int, window: int) -> float | None:
    """The mean of `key` over the logged points in the `window` env steps up to `step` (one iteration's value is
    noisy); None when the run did not reach `step`."""
    points = [h[key] for h in history if h.get(key) is not None and step - window < h["step"] <= step]
    if not history or history[-1]["step"] < step - window or not points:
        return None
    return float(np.mean(points))


def milestone_values(exp: Experiment, summaries: list[dict]) -> list[float | None]:
    """Per milestone step: the mean over every curve of these records of `value_at` (None if one falls short)."""
    out = []
    for step in exp.milestones:
        values = [value_at(curve, exp.milestone_key, step, exp.milestone_window)
                  for summary in summaries for curve in curves_of(exp, summary)]
        out.append(None if not values or any(v is None for v in values) else float(np.mean(values)))
    return out


def plot_task(exp: Experiment, task: str, arms: dict[str, dict[int, dict]], path: Path, title: str) -> None:
    fig, axes = plt.subplots(1, len(exp.curves), figsize=(5.5 * len(exp.curves), 4), squeeze=False)
    for ax, (key, label) in zip(axes[0], exp.curves):
        for arm in exp.variants:
            if arm not in arms:
                continue
            histories = [curve for s in arms[arm].values() for curve in curves_of(exp, s)]
            curve = mean_curve(histories, key)
            if curve is None:
                continue
            grid, mean, low, high = curve
            ax.plot(grid, mean, label=f"{arm} ({len(histories)} seed{'s' if len(histories) > 1 else ''})")
            ax.fill_between(grid, low, high, alpha=0.2)
        ax.set_xlabel("environment steps")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def recorded_cpus(found: dict[str, dict[str, dict[int, dict]]]) -> str | None:
    """Which CPUs the runs name in their summaries ("cpus": one per stretch of a run), with run counts. On the CPU a
    seed reproduces a run exactly only on the same kind of CPU, so a reader needs this to compare two records."""
    counts, unrecorded, partly = {}, 0, 0
    for arms in found.values():
        for seeds in arms.values():
            for summary in seeds.values():
                if "cpus" not in summary:
                    unrecorded += 1
                cpus = dict.fromkeys(summary.get("cpus", []))  # a run resumed on its own CPU counts once
                # "not recorded": the stretch before a resume from a checkpoint written before the CPU was saved
                if "not recorded" in cpus:
                    partly += 1
                    del cpus["not recorded"]
                for cpu in cpus:
                    counts[cpu] = counts.get(cpu, 0) + 1
    if not counts:
        return None

    def runs(n):
        return f"{n} run{'s' if n > 1 else ''}"

    named = "; ".join(f"{cpu} ({runs(n)})" for cpu, n in sorted(counts.items()))
    if partly:
        named += f"; {runs(partly)} resumed from a checkpoint that did not record the CPU before it"
    return named + (f"; {runs(unrecorded)} from before the CPU was recorded" if unrecorded else "")


def fmt(value) -> str:
    if value is None:
        return "–"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def report_experiment(name: str, exp: Experiment, args: Args) -> Path | None:
    out = Path(args.results_root) / args.budget / name
    records = out / "records"
    archive(collect(Path(args.runs_root) / args.budget / name), records)
    found = load_records(records)
    if not found:
        print(f"{name}: no finished runs under {args.runs_root}/{args.budget}/{name} and no records in {records}")
        return None
    lines = [f"# {name}: budget `{args.budget}`", ""]
    if args.budget in exp.budget_notes:
        lines += [f"Budget: {exp.budget_notes[args.budget]}.", ""]
    if args.machine:
        lines += [f"Machine: {args.machine}.", ""]
    if cpus := recorded_cpus(found):
        lines += [f"CPUs named in the runs' summaries: {cpus}.", ""]
    lines += [f"Script: `{exp.script}`. Headline metric: {exp.metric_label} (`{exp.metric}` in summary.json), "
              "mean over seeds with a 95% percentile-bootstrap interval of the mean (with 3 seeds the interval "
              "mostly shows the spread).", ""]
    at = [f"{exp.milestone_key} at {step / 1e6:g}M" for step in exp.milestones]
    if at:
        lines += [f"`{exp.milestone_key} at N`: the mean over the logged iterations in the last "
                  f"{exp.milestone_window / 1e6:g}M env steps up to N, then over seeds.", ""]
    lines += ["| task | arm | seeds | " + exp.metric + " (95% CI) | paper | " + " | ".join((*at, *exp.extra_metrics)) + " |",
              "|---|---|---|---|---|" + "---|" * (len(at) + len(exp.extra_metrics))]
    results, sources = {}, set()
    for task in exp.tasks:
        arms = found.get(task, {})
        for arm in exp.variants:
            seeds = arms.get(arm, {})
            if not seeds:
                continue
            values = [s[exp.metric] for s in seeds.values()]
            if exp.metric_samples:  # e.g. Eureka: the interval over the evaluation seeds of each search
                values = [v for s in seeds.values() for v in dotted(s, exp.metric_samples) if v is not None]
            low, high = bootstrap_interval(values)
            extras = {m: [s.get(m) for s in seeds.values()] for m in exp.extra_metrics}
            extra_means = [None if any(v is None for v in vs) else float(np.mean(vs)) for vs in extras.values()]
            paper = exp.paper.get((task, arm))
            if paper:
                sources.add(paper.source)
            milestones = milestone_values(exp, list(seeds.values()))
            lines.append(f"| {task} | {arm} | {len(values)} | {np.mean(values):.3f} ({low:.3f}–{high:.3f}) | "
                         f"{fmt(paper.value) if paper else '–'} | "
                         + " | ".join(fmt(v) for v in (*milestones, *extra_means)) + " |")
            results.setdefault(task, {})[arm] = {"seeds": {str(k): {m: s.get(m) for m in (exp.metric, *exp.extra_metrics)}
                                                           for k, s in sorted(seeds.items())},
                                                 "mean": float(np.mean(values)), "ci95": [low, high],
                                                 "at": dict(zip((str(m) for m in exp.milestones), milestones)),
                                                 "paper": paper.value if paper else None}
    if sources:
        lines += ["", "Paper numbers: " + "; ".join(sorted(sources)) + "."]
    lines.append("")
    scores, scale = aggregate_scores(exp, found)
    aggregate = {}
    if scores:
        lines += ["## Aggregate over tasks", "",
                  f"Interquartile mean (IQM) of `{exp.metric}` over all runs and tasks, with a 95% stratified-bootstrap "
                  f"interval (runs resampled within each task); {scale}.", "",
                  "| arm | tasks | runs per task | IQM (95% CI) | mean |", "|---|---|---|---|---|"]
        for arm, matrix in scores.items():
            point, low, high = stratified_bootstrap_iqm(matrix)
            aggregate[arm] = {"iqm": point, "ci95": [low, high], "mean": float(matrix.mean()),
                              "runs_per_task": matrix.shape[0], "tasks": matrix.shape[1]}
            lines.append(f"| {arm} | {matrix.shape[1]} | {matrix.shape[0]} | {point:.3f} ({low:.3f}–{high:.3f}) | "
                         f"{matrix.mean():.3f} |")
        lines.append("")
    for task in exp.tasks:
        if found.get(task):
            plot_task(exp, task, found[task], out / f"{task}.png", f"{task} ({args.budget} budget)")
            lines += [f"![{task}]({task}.png)", ""]
    (out / "report.md").write_text("\n".join(lines).rstrip() + "\n")
    (out / "results.json").write_text(json.dumps({"experiment": name, "budget": args.budget, "results": results,
                                                      "aggregate": {"scale": scale, "arms": aggregate}}, indent=2))
    print(f"{name}: wrote {out / 'report.md'}")
    return out


def main(args: Args) -> int:
    for name in args.experiments:
        if name not in EXPERIMENTS:
            raise SystemExit(f"unknown experiment {name!r}; choose from: {', '.join(EXPERIMENTS)}")
        report_experiment(name, EXPERIMENTS[name], args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(tyro.cli(Args)))
