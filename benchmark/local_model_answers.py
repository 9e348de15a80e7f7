"""What SmolLM2-135M did with our prompts: measured from the answers in llm_outputs/**/recorded-smollm2-135m/.

Code-writing methods, per answer:
- parses: the answer holds the code in the form the prompt asks for (a ```python block; LaRe: a JSON object with a
  `function` field), and that code is valid Python;
- passes the safe runner: the allow-list accepts it and its top level runs in the sandbox worker;
- trains: the script, replaying the recorded answers offline (`--llm-answers recorded-smollm2-135m`, the tiny budget
  of llm_outputs/record_local_model.py), exits 0 with that answer. ProgressCounts: one run per sample that passed the
  safe runner (`--progress-sample k`); Eureka: one search over the 4 recorded candidates (a candidate trains when the
  search reports no failure for it); LaRe: one run, which trains with the merged function if it is usable.
ONI: the model's labels against the reference table's keyword-rule labels (confusion matrix, answers without a
label counted apart) and answers per second over the recording.

    python benchmark/local_model_answers.py        (writes benchmark/results/local_model_answers.json, prints tables)
"""

import ast
import json
import runpy
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from llmcode.errors import LLMCodeError  # noqa: E402
from llmcode.extract import extract_code, extract_json  # noqa: E402
from llmcode.safe_runner import compile_llm_function  # noqa: E402

RECORDER = runpy.run_path(str(REPO / "llm_outputs" / "record_local_model.py"), run_name="answers")
FOLDER = RECORDER["FOLDER"]
ENTRY = {"ppo_progresscounts_isaac": "compute_progress", "ppo_eureka_isaac": "compute_reward",
         "td3_lare_mujoco": "evaluation_func", "ippo_lare_mpe": "evaluation_func"}



def source_of(script, text):
    """The answer's code, or raise LLMCodeError (the runner's own reading of an answer)."""
    if script.endswith("lare_mujoco") or script.endswith("lare_mpe"):
        function = extract_json(text).get("function")
        if not isinstance(function, str):
            raise LLMCodeError("the JSON object has no `function` string")
        return function
    return extract_code(text)


def check_answer(script, text):
    """(parses, passes the safe runner, reason) for one answer."""
    try:
        source = source_of(script, text)
        ast.parse(source)
    except (LLMCodeError, SyntaxError, ValueError) as error:
        return False, False, f"{type(error).__name__}: {' '.join(str(error).split())[:200]}"
    try:
        compile_llm_function(source, ENTRY[script]).close()
    except LLMCodeError as error:
        return True, False, f"{type(error).__name__}: {' '.join(str(error).split())[:200]}"
    return True, True, "passes"


def replay(script, task_args, extra=()):
    """The script in cached mode on the recorded answers, at the recorder's tiny budget; (exit code, last line)."""
    with tempfile.TemporaryDirectory() as runs:
        command = [sys.executable, str(REPO / "algos" / f"{script}.py"), *task_args, *RECORDER["TINY"][script],
                   "--llm-answers", FOLDER, "--runs-dir", runs, *extra]
        result = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
        output = (result.stderr.strip() or result.stdout.strip() or "(no output)").replace(runs, "<runs>")
        lines = output.splitlines()
        summaries = [json.loads(p.read_text()) for p in Path(runs).rglob("summary.json")]
    return result.returncode, lines[-1], summaries


def code_methods():
    rows = []
    for method, runs in RECORDER["RUNS"].items():
        for script, task_args, folder in runs:
            answers = sorted((REPO / "llm_outputs" / folder / FOLDER).glob("*_s*.md"))
            checks = {a.stem: check_answer(script, a.read_text(encoding="utf-8")) for a in answers}
            trained = {}
            if script == "ppo_progresscounts_isaac":
                for k in range(len(checks)):
                    if checks[f"progress_s{k}"][1]:
                        code, last, _ = replay(script, task_args[:2], ["--progress-sample", str(k)])
                        trained[f"progress_s{k}"] = (code == 0, last)
            elif script == "ppo_eureka_isaac":
                code, last, summaries = replay(script, task_args)
                failures = summaries[0]["iteration_summaries"][0]["failures"] if summaries else {}
                for name in checks:
                    trained[name] = (f"candidates/{name}" not in failures and code == 0, last)
            else:
                code, last, _ = replay(script, task_args)
                trained["run"] = (code == 0, last)
            rows.append({"method": method, "script": script, "task": task_args[1], "answers": len(checks),
                         "parse": sum(c[0] for c in checks.values()), "safe_runner": sum(c[1] for c in checks.values()),
                         "trained": sum(t[0] for t in trained.values()), "trained_of": len(trained),
                         "reasons": {name: c[2] for name, c in checks.items()},
                         "training": {name: {"ok": t[0], "last_line": t[1]} for name, t in trained.items()}})
    return rows


def oni_labels():
    recorded = json.loads((REPO / "llm_outputs" / "oni" / FOLDER / "labels.json").read_text(encoding="utf-8"))
    reference = json.loads((REPO / "llm_outputs" / "oni" / "reference_labels.json").read_text(encoding="utf-8"))
    matrix = {ref: {"FOO": 0, "BAR": 0, "no label": 0} for ref in ("FOO", "BAR")}
    for message, ref in reference["labels"].items():
        name = "FOO" if ref == 1 else "BAR"
        if message in recorded["labels"]:
            matrix[name]["FOO" if recorded["labels"][message] == 1 else "BAR"] += 1
        elif message in recorded["unreadable"]:
            matrix[name]["no label"] += 1
    labelled = sum(matrix[r][m] for r in matrix for m in ("FOO", "BAR"))
    agree = matrix["FOO"]["FOO"] + matrix["BAR"]["BAR"]
    return {"asked": recorded["answers"], "of": len(reference["labels"]), "labelled": labelled,
            "agreement": agree / labelled if labelled else None, "confusion": matrix,
            "answers_per_s": recorded["answers"] / recorded["seconds_asking"] if recorded["seconds_asking"] else None}


if __name__ == "__main__":
    results = {"model": RECORDER["MODEL_ALIAS"], "code": code_methods(), "oni": oni_labels(),
               "command": "python benchmark/local_model_answers.py"}
    out = REPO / "benchmark" / "results" / "local_model_answers.json"
    out.write_text(json.dumps(results, indent=1) + "\n")
    print("| method | task | answers | parse | pass the safe runner | train |\n|---|---|---|---|---|---|")
    for r in results["code"]:
        print(f"| {r['method']} | {r['task']} | {r['answers']} | {r['parse']} | {r['safe_runner']} | "
              f"{r['trained']} of {r['trained_of']} tried |")
    o = results["oni"]
    print(f"\nONI: {o['asked']} of {o['of']} messages asked, {o['labelled']} with a label, agreement with the reference "
          f"labels {o['agreement']}, {o['answers_per_s']} answers/s\n")
    print("| reference \\ model | FOO | BAR | no label |\n|---|---|---|---|")
    for ref, row in o["confusion"].items():
        print(f"| {ref} | {row['FOO']} | {row['BAR']} | {row['no label']} |")
    print(f"\nwrote {out.relative_to(REPO)}")
