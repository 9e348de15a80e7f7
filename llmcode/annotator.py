"""Asynchronous LLM annotation that never blocks training (ONI's LLM worker, as plumbing any method can use).

A daemon thread takes the newest messages not yet labelled, asks the LLM about them with a few parallel requests,
and publishes the answers; a failing endpoint leaves them pending and is retried; the method supplies the question
and reads the answer (`ask`). In cached mode, label files answer in place of the LLM.
"""

from __future__ import annotations

import json
import re
import threading
import warnings
from pathlib import Path

from llmcode.client import LLMClient
from runkit import write_json

NOT_ASKED = object()  # a request the annotator never made because it was stopped first (not a failure)
FATAL_HTTP = (401, 403, 404)  # a wrong key, a forbidden model, a wrong URL or model name: no retry can fix these


def keyword_label(message: str, rules: dict) -> int:
    """A label file's keyword rules (`{"label_1": [...], "except": [...]}`, case-insensitive regular expressions):
    1 when a `label_1` pattern matches and no `except` pattern does, else 0. The project's reference annotator, which
    stands in for the LLM on messages a reference table does not list."""
    if any(re.search(rule, message, re.IGNORECASE) for rule in rules.get("except", ())):
        return 0
    return int(any(re.search(rule, message, re.IGNORECASE) for rule in rules["label_1"]))


def checked_rules(rules, path) -> dict:
    """A label file's keyword rules, checked when the file is read (not on the learner's path): a `label_1` list of
    regular expressions that compile, and an optional `except` list."""
    try:
        for rule in [*rules["label_1"], *rules.get("except", ())]:
            re.compile(rule)
    except (KeyError, TypeError, re.error) as error:
        raise ValueError(f"label file {path}: unusable keyword rules ({type(error).__name__}: {error})") from None
    return rules


def refuse_reference_record_file(record_file: Path, label_files) -> None:
    """Record mode writes the model's answers; it must never write into a reference table or a table it reads."""
    if any(Path(f).resolve() == record_file.resolve() for f in label_files):
        raise ValueError(f"the record file {record_file} is also a label file the run reads; record into a new file")
    if record_file.is_file():
        saved = json.loads(record_file.read_text(encoding="utf-8"))
        if "rules" in saved or saved.get("provenance", {}).get("source") == "reference":
            raise ValueError(f"the record file {record_file} is a reference label table; recorded answers never go "
                             "there (record into llm_outputs/oni/recorded-<model>/labels.json)")


class Annotator:
    """Labels unique messages (and, for ranking, message pairs) and never blocks training. The learner calls `submit`
    with the messages it sees; `ask(client, item) -> (value, answer)` is the method's own question and answer format
    (it raises when an answer cannot be read, which counts as a failed request).
    live/record: a daemon thread takes the newest not-yet-labelled messages in rounds of up to `batch_size`, asks the
    LLM with `concurrency` parallel requests and publishes the labels in `labels`; each round that comes back is one
    batch for the classifier (ONI's LLM worker answers the newest llm_batch_size messages and returns them as one
    dict). cached: the label files stand in for the LLM, answering at once: a label arrives when its message is first
    seen in play, and every `batch_size` arrivals count as one batch; a message the files lack is labelled by a file's
    keyword `rules` if it has them (the reference table does: see `keyword_label`), else it stays unlabelled and is
    not queued. A failing endpoint logs a warning with the error, keeps the messages pending and retries after
    `retry_s`; it never raises into training. HTTP 401/403/404 set `fatal_error` instead, for the learner to stop on."""

    def __init__(self, mode, ask=None, label_files=(), record_file=None, model=None, base_url=None, batch_size=100,
                 concurrency=8, temperature=0.1, timeout_s=60.0, retry_s=10.0, max_pending=10_000, name="annotator",
                 label_format=""):
        self.mode, self.batch_size, self.retry_s, self.ask = mode, batch_size, retry_s, ask
        self.name, self.label_format = name, label_format
        self.concurrency, self.max_pending = concurrency, max_pending
        self.table: dict[str, int] = {}  # the label files: message -> label
        self.table_preferences: dict[tuple[str, str], float] = {}  # the files' recorded ranking answers
        self.rules: dict | None = None  # cached: keyword rules for messages the tables lack (the last file's that has them)
        for file in label_files:
            path = Path(file)
            if path.is_file():
                table = json.loads(path.read_text(encoding="utf-8"))
                self.table.update({m: int(v) for m, v in table["labels"].items()})
                self.table_preferences.update({tuple(e["pair"]): float(e["preference"])
                                               for e in table.get("preferences", [])})
                if "rules" in table:
                    self.rules = checked_rules(table["rules"], path)
            else:
                warnings.warn(f"{name}: label file {path} does not exist; starting without its labels", stacklevel=2)
        self.record_file = None if record_file is None else Path(record_file)
        if mode == "record" and self.record_file is not None:
            refuse_reference_record_file(self.record_file, label_files)
        self.labels: dict[str, int] = {}  # the labels this run has (cached: those that have arrived)
        self.preferences: dict[tuple[str, str], float] = {}  # ranking: (m1, m2) -> P(m1 preferred)
        self.provenance: dict = {}
        self.pending: dict = {}  # live: insertion-ordered set of messages (or pairs) waiting for the LLM, newest last
        self.in_flight: set = set()  # live: being asked right now; submit must not queue them again
        self.lock, self.record_lock = threading.Lock(), threading.Lock()
        self.failures = self.requests = self.answered = 0
        self.last_error: str | None = None
        self.fatal_error: str | None = None
        self.new_labels: list = []  # (message or pair, answer) that arrived since the reward model last took them
        self.new_batches = 0  # batches completed since then
        self.arrived_in_batch = 0  # cached: arrivals since the last complete batch
        self.stop_event = threading.Event()
        self.client = self.thread = None
        if mode != "cached":
            # labels from files are known from the start (never sent to the LLM) and reach the classifier as one batch
            self.labels.update(self.table)
            self.preferences.update(self.table_preferences)
            self.new_labels = [*self.table.items(), *self.table_preferences.items()]
            self.new_batches = int(bool(self.new_labels))
            self.client = LLMClient(mode="live", model=model, base_url=base_url, temperature=temperature,
                                    timeout_s=timeout_s, max_attempts=2, backoff_base_s=min(0.5, retry_s))
            self.thread = threading.Thread(target=self._loop, daemon=True, name=name)
            self.thread.start()

    def _arrive(self, key, answer):  # with the lock held
        (self.preferences if isinstance(key, tuple) else self.labels)[key] = answer
        self.new_labels.append((key, answer))
        if self.mode == "cached":
            self.arrived_in_batch += 1
            if self.arrived_in_batch >= self.batch_size:
                self.new_batches += 1
                self.arrived_in_batch = 0

    def _queue(self, item):  # with the lock held; newest last, oldest dropped beyond max_pending
        self.pending.pop(item, None)
        self.pending[item] = None
        while len(self.pending) > self.max_pending:
            self.pending.pop(next(iter(self.pending)))

    def submit(self, messages):
        with self.lock:
            for m in messages:
                if not m or m in self.labels or m in self.in_flight:
                    continue
                if self.mode == "cached":  # the tables (or their rules) answer at once; nothing waits
                    label = self.cached_label(m)
                    if label is not None:
                        self._arrive(m, label)
                    continue
                self._queue(m)

    def cached_label(self, message):
        """cached: the tables' label, else the keyword rules' label, else None (unlabelled)."""
        if message in self.table:
            return self.table[message]
        return None if self.rules is None else keyword_label(message, self.rules)

    def cached_preference(self, pair):
        """cached ranking: a recorded answer for the pair (either order) if the files hold one, else from the labels
        (the higher label wins, equal labels tie); None when a message has no label."""
        if pair in self.table_preferences:
            return self.table_preferences[pair]
        if pair[::-1] in self.table_preferences:
            return 1.0 - self.table_preferences[pair[::-1]]
        a, b = self.cached_label(pair[0]), self.cached_label(pair[1])
        if a is None or b is None:
            return None
        return 1.0 if a > b else 0.0 if a < b else 0.5

    def submit_pairs(self, pairs):
        """Ranking: ask for preferences over message pairs (cached: answered at once, or never)."""
        with self.lock:
            for pair in pairs:
                if pair in self.preferences or pair in self.in_flight:
                    continue
                if self.mode == "cached":
                    answer = self.cached_preference(pair)
                    if answer is not None:
                        self._arrive(pair, answer)
                    continue
                self._queue(pair)

    def pending_pairs(self):
        with self.lock:
            return sum(isinstance(item, tuple) for item in self.pending)

    def take_new_labels(self):
        """The labels and preferences that arrived since the last call, and how many batches they completed."""
        with self.lock:
            out, batches = self.new_labels, self.new_batches
            self.new_labels, self.new_batches = [], 0
        return out, batches

    def _safe_ask(self, item):
        try:
            return self.ask(self.client, item)
        except Exception as error:  # unreachable or failing endpoint: degrade to "unlabelled"
            self.last_error = f"{type(error).__name__}: {error}"
            status = getattr(error.__cause__, "status_code", None)
            if status in FATAL_HTTP:
                self.fatal_error = (f"the LLM endpoint answered HTTP {status}; retrying cannot fix that (check "
                                    f"--llm-base-url, --llm-model and OPENAI_API_KEY). {self.last_error}")
            return None

    def _take_batch(self):
        """Up to batch_size of the newest pending items that are still unlabelled (a checkpoint or an earlier round
        may have labelled them since they were queued), marked as in flight."""
        with self.lock:
            batch = []
            while self.pending and len(batch) < self.batch_size:
                item = self.pending.popitem()[0]  # a dict pops its newest entry
                if item not in self.labels and item not in self.preferences:
                    batch.append(item)
            self.in_flight.update(batch)
        return batch

    def _ask_all(self, batch):
        """Ask about every item with `concurrency` daemon threads. Daemons, because a request in flight must not keep
        the process alive at exit (a ThreadPoolExecutor's workers are joined at exit, each up to the request timeout)."""
        results, todo, todo_lock = [NOT_ASKED] * len(batch), iter(range(len(batch))), threading.Lock()

        def work():
            while not self.stop_event.is_set() and self.fatal_error is None:
                with todo_lock:
                    i = next(todo, None)
                    if i is None:
                        return
                    self.requests += 1  # counted when made: a run may end while its first answers are on the way
                results[i] = self._safe_ask(batch[i])

        threads = [threading.Thread(target=work, daemon=True, name=f"{self.name}-request")
                   for _ in range(min(self.concurrency, len(batch)))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    def _loop(self):
        while not self.stop_event.is_set() and self.fatal_error is None:
            try:
                self._round()
            except Exception as error:  # e.g. an unwritable record file: say so, keep labelling after a pause
                self.last_error = f"{type(error).__name__}: {error}"
                warnings.warn(f"{self.name}: a round failed ({self.last_error}); retrying in {self.retry_s:.0f} s",
                              stacklevel=1)
                self.stop_event.wait(self.retry_s)

    def _round(self):
        """One round: the newest pending items, asked in parallel; answers published, failures queued again."""
        batch = self._take_batch()
        if not batch:
            self.stop_event.wait(0.05)
            return
        results = self._ask_all(batch)
        failed = [m for m, r in zip(batch, results) if r is None]
        unanswered = [m for m, r in zip(batch, results) if r is None or r is NOT_ASKED]
        with self.lock:
            if self.stop_event.is_set():  # closed while asking: the run's summary and record are already final
                self.in_flight.difference_update(batch)
                self.pending = {**dict.fromkeys(m for m in batch if m not in self.pending), **self.pending}
                return
            answered = [(m, r) for m, r in zip(batch, results) if r is not None and r is not NOT_ASKED]
            for m, (value, answer) in answered:
                self._arrive(m, value)
                self.provenance[m] = {**answer.provenance, "answer": answer.text}
            self.answered += len(answered)
            self.new_batches += int(bool(answered))  # one LLM round that came back = one batch (ONI)
            self.in_flight.difference_update(batch)
            # back into the queue, behind newer messages
            self.pending = {**dict.fromkeys(m for m in unanswered if m not in self.pending), **self.pending}
            while len(self.pending) > self.max_pending:
                self.pending.pop(next(iter(self.pending)))
            self.failures += len(failed)
        if self.stop_event.is_set():
            return
        if self.fatal_error is not None:
            warnings.warn(f"{self.name} stopped: {self.fatal_error}", stacklevel=1)
            return
        if self.mode == "record" and answered:  # what was paid for is on disk at once
            self.write_record()
        if failed:
            warnings.warn(f"{self.name}: {len(failed)} of {len(batch)} LLM requests failed, last error: "
                          f"{self.last_error}; the messages stay unlabelled and are retried in {self.retry_s:.0f} s",
                          stacklevel=1)
            self.stop_event.wait(self.retry_s)

    def write_record(self):
        if self.record_file is None or not self.provenance:
            return
        with self.record_lock:  # the annotator thread and close() may both write
            with self.lock:
                entries = {m: {"label": self.labels[m], "provenance": p} for m, p in self.provenance.items()
                           if isinstance(m, str)}
                prefs = [{"pair": list(m), "preference": self.preferences[m], "provenance": p}
                         for m, p in self.provenance.items() if isinstance(m, tuple)]
            saved = json.loads(self.record_file.read_text(encoding="utf-8")) if self.record_file.is_file() else {}
            old, old_prefs = saved.get("entries", {}), saved.get("preferences", [])
            old.update(entries)
            seen = {tuple(p["pair"]) for p in prefs}
            prefs += [p for p in old_prefs if tuple(p["pair"]) not in seen]
            out = {**saved, "label_format": self.label_format,  # other keys of the file are kept
                   "entries": old, "labels": {m: e["label"] for m, e in old.items()}, "preferences": prefs}
            self.record_file.parent.mkdir(parents=True, exist_ok=True)
            write_json(self.record_file, out)

    def close(self, wait_s=2.0):
        """Stop asking. Requests in flight are given `wait_s`, not waited for (their threads are daemons, so they
        cannot hold the process at exit either), and nothing they bring is published; in record mode, what was
        answered is written."""
        with self.lock:  # a round publishes under this lock, so after close() the labels no longer change
            self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout=wait_s)
            if self.mode == "record":
                self.write_record()

    def state_dict(self):
        with self.lock:
            return {"labels": dict(self.labels), "preferences": dict(self.preferences), "pending": list(self.pending),
                    "arrived_in_batch": self.arrived_in_batch}

    def load_state_dict(self, state):
        with self.lock:
            self.labels.update(state["labels"])
            self.preferences.update(state["preferences"])
            self.arrived_in_batch = state["arrived_in_batch"]
            if self.mode != "cached":  # cached mode never queues
                for m in state["pending"]:
                    if m not in self.labels and m not in self.preferences:
                        self._queue(m)
