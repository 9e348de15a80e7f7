"""Tests of algos/appo_oni_nethack.py: V-trace against a hand-computed example, the ONI reward with time-out
bootstrapping, the APPO loss against ONI's formulas, the actor on a scripted env (reward clip, time-outs, seeds,
which message each step's intrinsic reward scores), NetHack seeding, the count-scaled intrinsic reward, label parsing, the shipped reference labels, cached label arrival
and the classifier's training schedule (and that it learns FOO labels), the annotator against the fake LLM server
(outage, in-flight messages, fatal HTTP errors, daemon request threads), and smoke runs of APPO with 2 actor processes
for every reward model (real updates), a resumed run, a live run through an outage, and interrupted runs."""

import copy
import json
import math
import os
import queue
import random
import runpy
import signal
import threading
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from fake_llm_server import Reply
from script_tools import load_script, read_scalars, run_main

import runkit

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "algos" / "appo_oni_nethack.py"
TINY = {"--num-workers": "2", "--envs-per-worker": "2", "--rollout": "8", "--batch-size": "32", "--total-timesteps": "96",
        "--hidden-size": "32", "--torch-threads": "1", "--classifier-steps": "2", "--classifier-batch-size": "32",
        "--llm-batch-size": "1"}  # cached mode: every label that arrives is a batch, so the classifier trains


def tiny(**overrides):
    """Command-line flags of a tiny run (2 actor processes, 32 transitions per update); overrides use underscores."""
    flags = {**TINY, **{"--" + k.replace("_", "-"): str(v) for k, v in overrides.items()}}
    return [x for kv in flags.items() for x in kv]


@pytest.fixture(scope="module")
def oni():
    return runpy.run_path(str(SCRIPT), run_name="appo_oni_nethack")


def run_script(monkeypatch, runs_dir, *argv):
    run_dir = run_main(monkeypatch, SCRIPT, runs_dir, *argv)
    return run_dir, json.loads((run_dir / "summary.json").read_text())


def test_vtrace_on_policy_is_n_step_return(oni):
    # rewards 1, 2; values 0.5, 1.0; bootstrap 3; gamma 0.9; behaviour == target policy
    z = torch.zeros(2, 1)
    vs, adv = oni["vtrace"](z, z, torch.tensor([[1.0], [2.0]]), torch.tensor([[0.5], [1.0]]), torch.tensor([3.0]),
                            torch.full((2, 1), 0.9))
    # vs1 = 2 + .9*3 = 4.7; vs0 = 1 + .9*4.7 = 5.23; adv0 = 1 + .9*4.7 - .5 = 4.73; adv1 = 2 + .9*3 - 1 = 3.7
    assert torch.allclose(vs.squeeze(1), torch.tensor([5.23, 4.7]))
    assert torch.allclose(adv.squeeze(1), torch.tensor([4.73, 3.7]))


def test_vtrace_off_policy_truncates_rhos_and_traces(oni):
    behaviour = torch.zeros(2, 1)
    target = torch.tensor([[math.log(2.0)], [math.log(0.5)]])  # rho0 = 2 (clipped to 1), rho1 = c1 = 0.5
    vs, adv = oni["vtrace"](behaviour, target, torch.tensor([[1.0], [2.0]]), torch.tensor([[0.5], [1.0]]),
                            torch.tensor([3.0]), torch.full((2, 1), 0.9))
    # d0 = 1*(1 + .9*1 - .5) = 1.4; d1 = .5*(2 + .9*3 - 1) = 1.85
    # vs1 = 1 + 1.85 = 2.85; vs0 = .5 + 1.4 + .9*c0*d1 = 3.565; adv0 = 1*(1 + .9*2.85 - .5) = 3.065; adv1 = 1.85
    assert torch.allclose(vs.squeeze(1), torch.tensor([3.565, 2.85]))
    assert torch.allclose(adv.squeeze(1), torch.tensor([3.065, 1.85]))


def test_vtrace_terminal_cuts_bootstrap(oni):
    z = torch.zeros(2, 1)
    vs, _ = oni["vtrace"](z, z, torch.tensor([[1.0], [2.0]]), torch.tensor([[0.5], [1.0]]), torch.tensor([3.0]),
                          torch.tensor([[0.0], [0.9]]))  # the episode ends after step 0
    assert torch.allclose(vs.squeeze(1), torch.tensor([1.0, 4.7]))


def test_intrinsic_reward_count_scaling(oni):
    labels = torch.tensor([1.0, 1.0, 1.0, 0.0])
    counts = torch.tensor([1.0, 2.0, 3.0, 1.0])
    r = oni["intrinsic_reward"](labels, counts, 3.0)
    assert torch.allclose(r, torch.tensor([1.0, 1 / 8, 1 / 27, 0.0]))


def test_parse_preference(oni):
    parse = oni["parse_preference"]
    assert parse("<comparison>..</comparison>\nbest_description: 1") == 1.0
    assert parse("best_description: 2") == 0.0
    assert parse("best_description: None") == 0.5 and parse("I cannot say") == 0.5


def test_parse_label(oni):
    parse = oni["parse_label"]
    assert parse("<knowledge>..</knowledge><analysis>BAR would be wrong</analysis><label>FOO</label>") == 1
    assert parse("<label>BAR</label>") == 0
    assert parse("no idea") is None  # the annotator counts it as a failed request, not as BAR


def test_reference_labels_shipped():
    table = json.loads((ROOT / "llm_outputs" / "oni" / "reference_labels.json").read_text())
    assert table["provenance"]["source"] == "reference" and table["provenance"]["note"]
    assert len(table["labels"]) >= 500
    assert set(table["labels"].values()) == {0, 1}


def test_prompt_renders(oni):
    from llmcode import render_prompt

    text = render_prompt(ROOT / "prompts" / "oni" / "classify.txt", message="You kill the newt!")
    assert "You kill the newt!" in text and "<label>FOO or BAR</label>" in text


def wait_for(predicate, timeout=20.0):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_annotator_outage_and_recovery(oni, fake_llm):
    outage = {"on": False}

    def handler(request, call_index):
        if outage["on"]:
            return Reply(status=503)
        text = request["messages"][-1]["content"].split("\"")[1]  # the quoted message
        return Reply(answers=["<label>FOO</label>" if "gold" in text else "<label>BAR</label>"])

    fake_llm.set_handler(handler)
    ann = oni["oni_annotator"]("live", (), None, "fake-model", fake_llm.base_url, batch_size=2, concurrency=2,
                           timeout_s=2.0, retry_s=0.2)
    try:
        ann.submit(["You see here 3 gold pieces.", "It's a wall."])
        assert wait_for(lambda: len(ann.labels) == 2)
        assert ann.labels == {"You see here 3 gold pieces.": 1, "It's a wall.": 0}
        outage["on"] = True
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ann.submit(["12 gold pieces.", "The door opens."])
            assert wait_for(lambda: ann.failures >= 2)
        # the warning names the error, so that a misconfigured endpoint can be diagnosed from the log
        assert any("failed" in str(w.message) and "503" in str(w.message) for w in caught)
        assert "503" in ann.last_error and ann.fatal_error is None
        assert "12 gold pieces." not in ann.labels  # unlabelled, still pending
        outage["on"] = False
        assert wait_for(lambda: len(ann.labels) == 4)
        assert ann.labels["12 gold pieces."] == 1 and ann.labels["The door opens."] == 0
    finally:
        ann.close()


def test_an_answer_without_a_label_is_a_failure_not_bar(oni, fake_llm):
    fake_llm.set_handler(lambda request, i: Reply(answers=["I would rather talk about something else." if i == 0
                                                           else "<label>FOO</label>"]))
    ann = oni["oni_annotator"]("live", (), None, "fake-model", fake_llm.base_url, batch_size=1, retry_s=0.1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ann.submit(["You see here 3 gold pieces."])
            assert wait_for(lambda: len(ann.labels) == 1)
        assert ann.failures == 1 and "no FOO/BAR label" in ann.last_error
        assert ann.labels == {"You see here 3 gold pieces.": 1}  # asked again, and the second answer counted
    finally:
        ann.close()


def test_annotator_unreachable_endpoint_never_raises(oni):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ann = oni["oni_annotator"]("live", (), None, "fake-model", "http://127.0.0.1:9/v1", batch_size=4, timeout_s=0.5,
                               retry_s=0.1)
        try:
            ann.submit(["Hello"])
            assert wait_for(lambda: ann.failures >= 1)
            assert ann.labels == {} and ann.thread.is_alive()
            assert "Connection" in ann.last_error and ann.fatal_error is None  # retried, not fatal
        finally:
            ann.close()


@pytest.mark.parametrize("reward_model", ["none", "retrieval", "classification", "ranking"])
def test_smoke_each_reward_model(monkeypatch, tmp_path, reward_model):
    run_dir, summary = run_script(monkeypatch, tmp_path, *tiny(), "--reward-model", reward_model)
    assert summary["global_step"] == 96 and summary["policy_versions"] == 3
    tags = read_scalars(run_dir)
    assert len(tags["losses/policy_loss"]) == 3 and all(math.isfinite(v) for v in tags["losses/value_loss"])
    assert "charts/policy_lag_mean" in tags and "llm/labels" in tags
    if reward_model != "none":  # cached mode: the reference table answers in place of the LLM
        assert summary["label_files"] == ["llm_outputs/oni/reference_labels.json"]
    if reward_model in ("retrieval", "classification"):  # a label arrives when its message is first seen
        assert 1 <= summary["labels"] < 3000
    if reward_model in ("classification", "ranking"):
        assert math.isfinite(tags[f"losses/{reward_model}_model_loss"][-1]) and summary["reward_model_updates"] >= 1
    if reward_model == "classification":  # measured against the reference table, which has FOO labels
        assert 0 <= summary["classifier_recall_table"] <= 1 and 0 <= summary["classifier_precision_table"] <= 1
    else:
        assert summary["classifier_recall_table"] is None
    if reward_model == "ranking":
        assert summary["preferences"] >= 1  # cached mode: preferences from the reference labels


def test_checkpoint_resumes(monkeypatch, tmp_path, oni):
    # 10-step episodes: some end in each stretch, so that the learning curve has points on both sides of the resume
    first, s1 = run_script(monkeypatch, tmp_path / "a", *tiny(max_episode_steps=10), "--reward-model", "classification",
                           "--save-model")
    ckpt_path = first / "checkpoint.pt"
    ckpt = torch.load(ckpt_path, weights_only=False)
    assert ckpt["annotator"]["labels"] and ckpt["reward_model"]["dataset"] and ckpt["reward_model"]["optimizer"]["state"]
    assert ckpt["optimizer"]["state"]
    # The resumed run goes on in the checkpoint's folder (whatever --runs-dir says).
    resumed, s2 = run_script(monkeypatch, tmp_path / "a", *tiny(total_timesteps=160, max_episode_steps=10),
                             "--reward-model", "classification",
                             "--runs-dir", str(tmp_path / "b"), "--resume", str(ckpt_path))
    assert resumed == first and not (tmp_path / "b").exists()
    assert s2["global_step"] == 160 and s2["policy_versions"] == 5
    # The learning curve goes on across the resume: the first stretch's points are kept, in order.
    assert s1["history"] and s2["history"][: len(s1["history"])] == s1["history"]
    assert len(s2["history"]) > len(s1["history"])
    assert s2["episodic_returns"][: len(s1["episodic_returns"])] == s1["episodic_returns"]
    # The CPU of each stretch is recorded: the start, then the resume.
    cpu = runkit.cpu_model()
    assert s1["cpus"] == [cpu] and s2["cpus"] == [cpu, cpu]


def test_resuming_a_finished_run_keeps_its_summary_and_checkpoint(monkeypatch, tmp_path):
    # The final checkpoint of a finished run, resumed with the same budget: nothing to train, nothing rewritten (no
    # summary of near-zero timings, no checkpoint that adds a stretch of the run that trained nothing)
    first, _ = run_script(monkeypatch, tmp_path, *tiny(), "--reward-model", "none", "--save-model")
    summary, ckpt = ((first / name).read_bytes() for name in ("summary.json", "checkpoint.pt"))
    again, _ = run_script(monkeypatch, tmp_path, *tiny(), "--reward-model", "none",
                          "--resume", str(first / "checkpoint.pt"))
    assert again == first
    assert (first / "summary.json").read_bytes() == summary and (first / "checkpoint.pt").read_bytes() == ckpt


def test_live_run_survives_outage(monkeypatch, tmp_path, fake_llm):
    # the outage is the first message's two attempts (one request per round: --llm-batch-size 1), so labels resume
    # about 0.1 s after it; a longer outage could outlast a tiny run on a fast machine, and then no label arrives
    fake_llm.set_handler(lambda request, i: Reply(status=500) if i < 2 else Reply(answers=["<label>FOO</label>"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, summary = run_script(monkeypatch, tmp_path, *tiny(total_timesteps=640), "--reward-model", "retrieval", "--llm-mode", "live", "--llm-base-url",
                                fake_llm.base_url, "--llm-model", "fake-model", "--llm-label-files",
                                "--llm-retry-s", "0.05", "--llm-timeout-s", "2")
    assert summary["global_step"] == 640
    assert summary["llm_failures"] >= 1  # the outage was seen and survived
    assert "500" in summary["llm_last_error"]  # and what it was is in the summary
    assert summary["labels"] >= 1  # labels resumed after it


def test_annotator_ranking_pairs(oni, fake_llm):
    fake_llm.set_handler(lambda request, i: Reply(answers=["<comparison>the first</comparison>\nbest_description: 1"]))
    ann = oni["oni_annotator"]("live", (), None, "fake-model", fake_llm.base_url, batch_size=4, retry_s=0.1)
    try:
        ann.submit_pairs([("You kill the newt!", "It's a wall."), ("$ - 3 gold pieces.", "Never mind.")])
        assert ann.pending_pairs() <= 2
        assert wait_for(lambda: len(ann.preferences) == 2)
        assert ann.preferences[("You kill the newt!", "It's a wall.")] == 1.0
        assert "best_description" in fake_llm.requests[0]["messages"][-1]["content"]
        answers, batches = ann.take_new_labels()
        assert len(answers) == 2 and batches >= 1
    finally:
        ann.close()


def test_cached_ranking_prefers_the_higher_label(oni):
    ann = oni["oni_annotator"]("cached", ("llm_outputs/oni/reference_labels.json",))
    foo = next(m for m, v in ann.table.items() if v == 1)
    bar = next(m for m, v in ann.table.items() if v == 0)
    ann.submit_pairs([(foo, bar), (bar, foo), (bar, bar), ("It's a wall, never seen", foo)])
    # the table's keyword rules label the message it lacks (BAR), so that pair is answered too
    assert ann.preferences == {(foo, bar): 1.0, (bar, foo): 0.0, (bar, bar): 0.5, ("It's a wall, never seen", foo): 0.0}


def test_record_mode_writes_recorded_provenance(oni, fake_llm, tmp_path):
    fake_llm.set_handler(lambda request, i: Reply(answers=["<label>FOO</label>"]))
    out = tmp_path / "recorded_labels.json"
    ann = oni["oni_annotator"]("record", (), str(out), "fake-model", fake_llm.base_url, batch_size=4, retry_s=0.1)
    try:
        ann.submit(["You kill the jackal!"])
        assert wait_for(lambda: out.is_file())
    finally:
        ann.close()
    table = json.loads(out.read_text())
    assert table["labels"] == {"You kill the jackal!": 1}
    prov = table["entries"]["You kill the jackal!"]["provenance"]
    assert prov["source"] == "recorded" and prov["model"] == "fake-model" and prov["temperature"] == 0.1
    # a later cached run replays the recorded table like the reference one
    replay = oni["oni_annotator"]("cached", (str(out),))
    replay.submit(["You kill the jackal!"])
    assert replay.labels == {"You kill the jackal!": 1}


# ---------------------------------------------------------------- ONI reward, time-outs and the APPO loss
def test_oni_reward_clips_nothing_and_bootstraps_time_outs(oni):
    # step 0 hits the time limit in a state worth V = 5; step 1 is the next episode's first step (value 100)
    ext = torch.tensor([[10.0], [1.0]])  # already scaled and clipped by the actor
    r_int = torch.tensor([[0.0], [0.5]])
    timeout, final_value = torch.tensor([[1.0], [0.0]]), torch.tensor([[5.0], [0.0]])
    rewards, discounts = oni["oni_reward"](ext, r_int, timeout, final_value, 10.0, 0.4, 0.9)
    # the coefficients come after the actor's clip: 10 * 10 = 100 stays 100 (ONI), plus gamma * V(final) = 4.5
    assert torch.allclose(rewards, torch.tensor([[104.5], [10.2]]))
    assert torch.allclose(discounts, torch.tensor([[0.0], [0.9]]))
    z = torch.zeros(2, 1)
    vs, adv = oni["vtrace"](z, z, rewards, torch.tensor([[1.0], [100.0]]), torch.tensor([3.0]), discounts)
    # the time-out step's target is r + gamma * V(final obs): nothing of the next episode's value leaks in
    assert vs[0, 0].item() == pytest.approx(104.5) and adv[0, 0].item() == pytest.approx(103.5)


def tiny_batch(oni, T=4, B=3, n_actions=5, hidden=8, crop=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"crop": torch.randint(0, 50, (T + 1, B, crop, crop), generator=g).short(),
            "blstats": torch.rand(T + 1, B, 27, generator=g), "msg": torch.randint(0, 128, (T + 1, B, 256), generator=g).byte(),
            "done": torch.zeros(T + 1, B), "state": torch.zeros(2, B, hidden),
            "action": torch.randint(0, n_actions, (T, B), generator=g), "value": torch.zeros(T, B),
            "terminal": torch.zeros(T, B)}


def test_learner_loss_is_onis(oni):
    """Advantages normalised over the batch (std floor 1e-3), PPO clip [1/(1+eps), 1+eps], value loss
    vf_coef * max(unclipped, clipped)^2 without a 1/2: ONI's learner.py."""
    torch.manual_seed(0)
    args = oni["Args"](rollout=4, gamma=0.9)
    agent = oni["Agent"](5, hidden=8, crop=3)
    nn = torch.nn
    nn.init.zeros_(agent.critic.weight)
    nn.init.zeros_(agent.critic.bias)  # values 0 everywhere: V-trace targets are then plain discounted sums
    batch = tiny_batch(oni)
    with torch.no_grad():
        logits, _, _ = agent(batch["crop"], batch["blstats"], batch["msg"], batch["state"], batch["done"])
        target_logp = torch.log_softmax(logits, -1)[:4].gather(2, batch["action"].unsqueeze(2)).squeeze(2)
    batch["logp"] = target_logp - math.log(0.905)  # every ratio 0.905: inside [0.9, 1.1], outside [1/1.1, 1.1]
    rewards = torch.randn(4, 3, generator=torch.Generator().manual_seed(1))
    discounts = torch.full((4, 3), 0.9)
    vs, adv = oni["vtrace"](batch["logp"], target_logp, rewards, torch.zeros(4, 3), torch.zeros(3), discounts)
    adv_n = (adv - adv.mean()) / max(1e-3, adv.std().item())
    ratio = torch.full((4, 3), 0.905)
    want_pg = -torch.min(ratio * adv_n, ratio.clamp(1 / 1.1, 1.1) * adv_n).mean()
    want_v = args.vf_coef * (vs**2).mean()
    metrics = {}
    for scale in (1.0, 7.0):
        a = copy.deepcopy(agent)
        opt = torch.optim.Adam(a.parameters(), lr=1e-4)
        metrics[scale] = oni["learner_update"](a, opt, batch, rewards * scale, discounts, args)
    assert metrics[1.0]["losses/policy_loss"] == pytest.approx(want_pg.item(), rel=1e-5)
    assert metrics[1.0]["losses/value_loss"] == pytest.approx(want_v.item(), rel=1e-5)
    # normalised advantages: the policy loss does not grow with the reward scale
    assert metrics[7.0]["losses/policy_loss"] == pytest.approx(metrics[1.0]["losses/policy_loss"], rel=1e-4)


# ---------------------------------------------------------------- the actor on a scripted env
class ScriptedNetHack:
    """Stands in for make_env's tasks: reward 50 every step, a time-out (truncated, end_status ABORTED) after `limit`
    steps; observations encode the step; the seeds it is given are recorded."""

    StepStatus = SimpleNamespace(ABORTED=-1, RUNNING=0, DEATH=1, TASK_SUCCESSFUL=2)

    def __init__(self, limit):
        self.limit, self.steps, self.seeds = limit, 0, []

    def obs(self):
        glyphs = np.full((21, 79), 2359, dtype=np.int16)
        glyphs[5, 5 + self.steps] = 100 + self.steps
        blstats = np.zeros(27, dtype=np.int64)
        blstats[:2] = (5, 5)
        blstats[20] = 10 * self.steps + 3
        message = np.zeros(256, dtype=np.uint8)
        text = f"step {self.steps}".encode()
        message[: len(text)] = np.frombuffer(text, dtype=np.uint8)
        return {"glyphs": glyphs, "blstats": blstats, "message": message}

    def seed(self, core, disp, reseed):
        self.seeds.append((core, disp, reseed))

    def reset(self):
        self.steps = 0
        return self.obs(), {}

    def step(self, action):
        self.steps += 1
        end = self.steps >= self.limit
        return self.obs(), 50.0, False, end, {"end_status": self.StepStatus.ABORTED if end else 0}

    def close(self):
        pass


def one_rollout(mod, args, n_actions=5):
    """Runs the actor loop in a thread for one rollout slot; returns the slot, the acting model and the episode queue."""
    buffers = mod.make_buffers(1, args.rollout, args.envs_per_worker, args.crop_size, args.hidden_size)
    shared = mod.Agent(n_actions, args.hidden_size, args.crop_size)
    free_q, full_q, stats_q, stop = queue.Queue(), queue.Queue(), queue.Queue(), threading.Event()
    free_q.put(0)
    threads = torch.get_num_threads()
    actor = threading.Thread(target=mod.actor_loop, args=(0, args, n_actions, buffers, shared, SimpleNamespace(value=0),
                                                          threading.Lock(), free_q, full_q, stats_q, stop))
    actor.start()
    try:
        assert full_q.get(timeout=60) == 0
    finally:
        stop.set()
        actor.join()
        torch.set_num_threads(threads)
    return {k: v[0] for k, v in buffers.items()}, shared, stats_q


def test_actor_clips_rewards_bootstraps_time_outs_and_seeds(monkeypatch):
    mod = load_script("appo_oni_nethack")
    envs = []
    monkeypatch.setattr(mod, "make_env", lambda task, limit: envs.append(ScriptedNetHack(limit)) or envs[-1])
    args = mod.Args(rollout=4, envs_per_worker=2, hidden_size=8, crop_size=3, max_episode_steps=3, reward_scale=0.1,
                    reward_clip=4.0, seed=7)
    buf, shared, stats_q = one_rollout(mod, args)
    # 50 * 0.1 = 5, clipped to 4 by the actor (the learner applies the coefficient afterwards)
    assert torch.all(buf["reward"] == 4.0)
    # the third step of each episode is a time-out: not terminal, flagged, bootstrapped from the final observation
    assert buf["timeout"][:, 0].tolist() == [0, 0, 1, 0] and buf["terminal"].sum() == 0
    assert buf["done"][3].tolist() == [1.0, 1.0]  # the next observation is the reset one
    with torch.no_grad():  # replay the acting model over the rollout, then evaluate the final observation (step 3)
        _, _, state = shared(buf["crop"][:3], buf["blstats"][:3], buf["msg"][:3], buf["state"], buf["done"][:3])
        final = ScriptedNetHack(3)
        final.steps = 3
        crop, bl, msg = mod.obs_tensors(final.obs(), 3)
        _, v_final, _ = shared(crop[None, None].expand(1, 2, 3, 3), bl[None, None].expand(1, 2, 27),
                               msg[None, None].expand(1, 2, 256), state, torch.zeros(1, 2))
        _, v_reset, _ = shared(buf["crop"][3:4], buf["blstats"][3:4], buf["msg"][3:4], state, buf["done"][3:4])
    assert torch.allclose(buf["final_value"][2], v_final[0], atol=1e-6)
    assert not torch.allclose(buf["final_value"][2], v_reset[0])  # not the next episode's first value
    assert stats_q.get_nowait()["truncated"] is True
    # NetHack's seeds: drawn from (seed, worker, env) before every reset, different per env and per episode
    want = [[tuple(r.integers(0, 2**62, size=2).tolist()) for _ in range(2)] for r in mod.env_rngs(7, 0, 2)]
    assert [[seeds[:2] for seeds in env.seeds[:2]] for env in envs] == want
    assert want[0] != want[1] and want[0][0] != want[0][1]
    assert all(reseed is False for env in envs for *_, reseed in env.seeds)


class MessageScript(ScriptedNetHack):
    """An episode of scripted messages: the reset observation shows the first, each step the next one, and the step
    that shows the last one is the hero's death."""

    def __init__(self, messages):
        super().__init__(limit=10**6)
        self.messages = messages

    def obs(self):
        obs = super().obs()
        obs["message"] = np.frombuffer(self.messages[self.steps].encode().ljust(256, b"\0"), dtype=np.uint8).copy()
        return obs

    def step(self, action):
        self.steps += 1
        died = self.steps == len(self.messages) - 1
        return self.obs(), 0.0, died, False, {"end_status": self.StepStatus.DEATH if died else 0}


def test_intrinsic_reward_scores_the_message_acted_in(monkeypatch):
    """ONI's timing: step t earns label(message of o_t) * N_ep^-beta, where o_t is the observation the action was
    taken in and N_ep counts that message in the episode so far, o_t included. The reset message is scored (count 1),
    the empty message earns nothing, and the death message, in the final observation, is never scored."""
    mod = load_script("appo_oni_nethack")
    hello, gold, death = "Hello Agent, welcome to NetHack!", "$ - 5 gold pieces.", "You die..."
    monkeypatch.setattr(mod, "make_env", lambda task, limit: MessageScript([hello, gold, "", gold, death]))
    args = mod.Args(rollout=8, envs_per_worker=1, hidden_size=8, crop_size=3, beta_count_exponent=3.0)
    buf, _, stats_q = one_rollout(mod, args)
    assert buf["msg_count"][:, 0].tolist() == [1, 1, 1, 2] * 2  # counted on arrival, cleared at the reset
    assert buf["done"][:, 0].tolist() == [1, 0, 0, 0, 1, 0, 0, 0, 1]
    acted = mod.acted_messages(buf, args.rollout)
    assert acted == [hello, gold, "", gold] * 2  # step 4 acts in the next episode's reset observation
    table = SimpleNamespace(labels={hello: 1, gold: 1, death: 1})
    labels = mod.RewardModel("retrieval", table, args, torch.device("cpu")).labels_for(acted)
    r_int = mod.intrinsic_reward(torch.tensor(labels).view(8, 1), buf["msg_count"], args.beta_count_exponent)
    assert r_int[:, 0].tolist() == [1.0, 1.0, 0.0, 1 / 8] * 2
    assert stats_q.get_nowait()["length"] == 4


def test_env_seeds_do_not_collide():
    mod = load_script("appo_oni_nethack")
    # seed * 16 + i collided for worker w, env 16 and worker w + 1, env 0 (with seed * 1000 + w per worker)
    a = mod.env_rngs(1, 0, 17)[16].integers(0, 2**62, size=2).tolist()
    b = mod.env_rngs(1, 1, 1)[0].integers(0, 2**62, size=2).tolist()
    assert a != b


def test_nethack_seeding_controls_the_dungeon(oni):
    env = oni["make_env"]("NetHackScoreExtendedActions-v1")

    def reset(rng):  # NLE reuses its observation arrays: copy
        return {k: v.copy() for k, v in oni["seeded_reset"](env, rng).items()}

    try:
        first = reset(np.random.default_rng([1, 0, 0]))
        rng = np.random.default_rng([1, 0, 0])
        again = reset(rng)
        second_episode = reset(rng)
        other_env = reset(np.random.default_rng([1, 0, 1]))
    finally:
        env.close()
    assert np.array_equal(first["glyphs"], again["glyphs"]) and np.array_equal(first["blstats"], again["blstats"])
    assert not np.array_equal(first["glyphs"], second_episode["glyphs"])
    assert not np.array_equal(first["glyphs"], other_env["glyphs"])


# ---------------------------------------------------------------- cached labels and the classifier's schedule
def write_table(path, labels, preferences=()):
    path.write_text(json.dumps({"labels": labels, "preferences": list(preferences)}))
    return str(path)


def test_cached_keyword_rules_label_the_messages_a_table_lacks(oni, tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"labels": {"You kill the newt, listed as BAR": 0},
                                "rules": {"label_1": [r"\byou kill\b"], "except": [r"little dog"]}}))
    ann = oni["oni_annotator"]("cached", (str(path),), batch_size=10)
    ann.submit(["You KILL the jackal!", "It's a wall.", "You kill the newt, listed as BAR", "Your little dog: you kill"])
    assert ann.labels == {"You KILL the jackal!": 1, "It's a wall.": 0, "You kill the newt, listed as BAR": 0,
                          "Your little dog: you kill": 0}  # case-insensitive; the table wins; exceptions win
    assert ann.pending == {}


def test_reference_table_labels_follow_its_keyword_rules(oni):
    from llmcode.annotator import keyword_label

    table = json.loads((ROOT / "llm_outputs/oni/reference_labels.json").read_text(encoding="utf-8"))
    assert table["provenance"]["source"] == "reference" and table["rules"]["label_1"]
    assert all(keyword_label(m, table["rules"]) == label for m, label in table["labels"].items())
    assert 0 < sum(table["labels"].values()) < len(table["labels"])
    # the Staircase task's success message, which random play rarely reaches, is FOO by the rules
    assert keyword_label(oni["DESCENT"].decode() + ".", table["rules"]) == 1
    # reset messages are part of what the agent sees, so the collection includes them
    assert any(m.startswith("Hello Agent, welcome to NetHack!") for m in table["labels"])


def test_cached_labels_arrive_when_first_seen(oni, tmp_path):
    table = write_table(tmp_path / "t.json", {"a": 1, "b": 0, "c": 0, "d": 1, "e": 0})
    ann = oni["oni_annotator"]("cached", (table,), batch_size=2)
    assert ann.labels == {} and ann.table["a"] == 1
    ann.submit(["never labelled", "a", "b", "a", "c"])
    assert ann.labels == {"a": 1, "b": 0, "c": 0}
    assert ann.pending == {} and ann.state_dict()["pending"] == []  # cached mode queues nothing
    answers, batches = ann.take_new_labels()
    assert answers == [("a", 1), ("b", 0), ("c", 0)] and batches == 1  # 2 arrivals make a batch; 1 carries over
    ann.submit(["d"])
    assert ann.take_new_labels() == ([("d", 1)], 1)
    assert ann.take_new_labels() == ([], 0)


class StubAnnotator:
    def __init__(self):
        self.arrivals = []

    def take_new_labels(self):
        out, self.arrivals = self.arrivals, []
        return out, int(bool(out))


def test_classifier_trains_on_onis_schedule(oni):
    args = oni["Args"](reward_model="classification", classifier_steps=3, classifier_batch_size=4,
                       classifier_max_dataset=6)
    ann = StubAnnotator()
    rm = oni["RewardModel"]("classification", ann, args, torch.device("cpu"))
    rm.update()
    assert rm.rounds == 0  # nothing arrived, nothing to train on
    ann.arrivals = [("You kill the newt!", 1), ("It's a wall.", 0)]
    rm.update()
    assert (rm.rounds, rm.steps) == (1, 3)  # a batch arrived: classifier_steps steps
    rm.update()
    assert rm.rounds == 1  # no new batch: no training
    ann.arrivals = [(f"msg {i}", 0) for i in range(5)] + [("It's a wall.", 1)]
    rm.update()
    assert (rm.rounds, rm.steps) == (2, 4) and len(rm.dataset) == 7  # above the cap: one step per update (ONI)
    assert rm.dataset["It's a wall."] == 0  # a message keeps its first label
    rm.update()
    assert (rm.rounds, rm.steps) == (3, 5)


def synthetic_labels():
    """100 NetHack-like messages, 25 FOO (kills, gold) and 75 BAR."""
    monsters = ["newt", "jackal", "grid bug", "lichen", "sewer rat", "fox", "kobold", "goblin", "gnome", "acid blob",
                "yellow mold", "coyote", "hobbit"]
    foo = [f"You kill the {m}!" for m in monsters] + [f"$ - {n} gold pieces." for n in range(2, 14)]
    bar = ([f"You see here a {m} corpse." for m in monsters] + [f"The {m} bites!" for m in monsters]
           + [f"You miss the {m}." for m in monsters] + [f"The {m} misses!" for m in monsters]
           + [f"You hear a door open {n} times." for n in range(11)] + ["It's a wall.", "It's solid stone.", "Never mind.",
                                                                       "In what direction?", "You can't go down here.",
                                                                       "There is a staircase up here.", "The door opens.",
                                                                       "This door is locked.", "You are hit!",
                                                                       "Are you sure you want to pray? [yn] (n)",
                                                                       "What do you want to eat? [fghi or ?*]", "Hello."])
    assert len(foo) == 25 and len(bar) == 75
    return {**{m: 1 for m in foo}, **{m: 0 for m in bar}}


def test_classifier_learns_the_foo_labels(oni, tmp_path):
    """With ONI's schedule (32 steps each time a batch of labels arrives), the classifier recovers the FOO labels
    instead of collapsing to 'unhelpful' (25% FOO here; the shipped table has 10%)."""
    torch.manual_seed(0)
    labels = synthetic_labels()
    args = oni["Args"](reward_model="classification", classifier_batch_size=32)
    ann = oni["oni_annotator"]("cached", (write_table(tmp_path / "t.json", labels),), batch_size=10)
    rm = oni["RewardModel"]("classification", ann, args, torch.device("cpu"))
    arrival = list(labels)
    random.Random(0).shuffle(arrival)
    for start in range(0, 100, 10):  # after one round of 32 steps it still gives every message the same class
        ann.submit(arrival[start: start + 10])
        rm.update()
    assert rm.rounds == 10 and rm.steps == 10 * 32
    predicted = dict(zip(labels, rm.labels_for(list(labels))))
    foo = [m for m, v in labels.items() if v == 1]
    recall = sum(predicted[m] for m in foo) / len(foo)
    precision = sum(predicted[m] for m in foo) / max(sum(predicted.values()), 1)
    assert recall >= 0.8 and precision >= 0.8, (recall, precision)
    assert rm.recall_precision(labels) == pytest.approx((recall, precision))  # what summary.json reports
    assert rm.recall_precision({m: 0 for m in labels}) == (None, None)  # no FOO label: nothing to recall


# ---------------------------------------------------------------- the annotator: queueing, errors, exit
def test_label_files_default_by_mode(oni):
    label_files, Args = oni["label_files"], oni["Args"]
    assert label_files(Args()) == ("llm_outputs/oni/reference_labels.json",)
    # live/record: no keyword-rule labels, or their messages would never reach the LLM
    assert label_files(Args(llm_mode="live")) == () and label_files(Args(llm_mode="record")) == ()
    replay = ("llm_outputs/oni/recorded_labels.json",)
    assert label_files(Args(llm_mode="cached", llm_label_files=replay)) == replay
    assert label_files(Args(reward_model="none")) == ()


def test_take_batch_skips_labelled_and_marks_in_flight(oni):
    ann = oni["oni_annotator"]("cached")
    ann.pending = dict.fromkeys(["old", "labelled meanwhile", "new"])
    ann.labels["labelled meanwhile"] = 1
    assert ann._take_batch() == ["new", "old"]  # newest first
    assert ann.in_flight == {"new", "old"} and ann.pending == {}


def test_annotator_closed_mid_round_publishes_nothing_more_and_counts_only_requests_made(oni, fake_llm):
    fake_llm.set_handler(lambda request, i: Reply(answers=["<label>FOO</label>"], delay_s=1.0))
    ann = oni["oni_annotator"]("record", (), None, "fake-model", fake_llm.base_url, batch_size=3, concurrency=1)
    ann.submit(["a", "b", "c"])
    assert wait_for(lambda: len(fake_llm.requests) == 1)
    ann.close(wait_s=3.0)  # the answer in flight arrives after close: it must not change the run's labels
    assert ann.labels == {} and ann.requests == 1 and ann.failures == 0
    assert set(ann.pending) == {"a", "b", "c"}  # back in the queue for a resumed run


def test_record_mode_never_writes_into_a_reference_table_or_a_table_it_reads(oni, tmp_path):
    reference = ROOT / "llm_outputs/oni/reference_labels.json"
    with pytest.raises(ValueError, match="is a reference label table"):
        oni["oni_annotator"]("record", (), str(reference), "fake-model", "http://127.0.0.1:9/v1")
    table = write_table(tmp_path / "t.json", {"a": 1})
    with pytest.raises(ValueError, match="is also a label file the run reads"):
        oni["oni_annotator"]("record", (table,), table, "fake-model", "http://127.0.0.1:9/v1")
    # the script says so in one line before anything runs
    Args, check_args = oni["Args"], oni["check_args"]
    with pytest.raises(SystemExit) as exit_:
        check_args(Args(llm_mode="record", llm_model="m", llm_record_file="llm_outputs/oni/reference_labels.json"))
    assert exit_.value.code == 2
    assert oni["record_file"](Args(llm_mode="record", llm_model="Some/Model")) == \
        "llm_outputs/oni/recorded-some-model/labels.json"


def test_unusable_keyword_rules_are_refused_when_the_file_is_read(oni, tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"labels": {}, "rules": {"label_1": ["(unclosed"]}}))
    with pytest.raises(ValueError, match="unusable keyword rules"):
        oni["oni_annotator"]("cached", (str(path),))


def test_annotator_does_not_ask_twice_about_messages_in_flight(oni, fake_llm):
    fake_llm.set_handler(lambda request, i: Reply(answers=["<label>BAR</label>"], delay_s=0.5))
    ann = oni["oni_annotator"]("live", (), None, "fake-model", fake_llm.base_url, batch_size=4, retry_s=0.1)
    try:
        ann.submit(["The door opens."])
        assert wait_for(lambda: len(fake_llm.requests) == 1)
        ann.submit(["The door opens.", "It's a wall."])  # the first is being asked about right now
        assert "The door opens." not in ann.pending
        assert wait_for(lambda: len(ann.labels) == 2)
    finally:
        ann.close()
    asked = [r["messages"][-1]["content"] for r in fake_llm.requests]
    assert sum("The door opens." in text for text in asked) == 1


def test_annotator_stops_on_fatal_http_status(oni, fake_llm):
    fake_llm.set_handler(lambda request, i: Reply(status=401, error_message="invalid api key"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ann = oni["oni_annotator"]("live", (), None, "fake-model", fake_llm.base_url, batch_size=2, retry_s=0.1)
        try:
            ann.submit(["Hello", "It's a wall."])
            assert wait_for(lambda: ann.fatal_error is not None)
            assert wait_for(lambda: not ann.thread.is_alive())  # no retrying
        finally:
            ann.close()
    assert "HTTP 401" in ann.fatal_error and "invalid api key" in ann.fatal_error
    assert any("HTTP 401" in str(w.message) for w in caught)
    assert len(fake_llm.requests) <= 2


def test_requests_in_flight_do_not_hold_the_process(oni, fake_llm):
    fake_llm.set_handler(lambda request, i: Reply(answers=["<label>FOO</label>"], delay_s=30))
    ann = oni["oni_annotator"]("live", (), None, "fake-model", fake_llm.base_url, batch_size=2, timeout_s=60)
    ann.submit(["You kill the newt!"])
    assert wait_for(lambda: len(fake_llm.requests) == 1)
    workers = [t for t in threading.enumerate() if t.name == "ONI annotator-request"]
    ann.close(wait_s=0.1)  # returns while the request is still in flight
    # daemon threads: the interpreter does not wait for them at exit (a ThreadPoolExecutor's workers it would join)
    assert workers and all(t.daemon for t in workers) and ann.thread.daemon


def test_live_queue_is_capped(oni):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ann = oni["oni_annotator"]("live", (), None, "fake-model", "http://127.0.0.1:9/v1", batch_size=2, timeout_s=0.5,
                               retry_s=30, max_pending=5)
        ann.close(wait_s=5)  # stop asking, so that nothing leaves the queue while we look at it
        ann.submit([f"message {i}" for i in range(50)])
    assert list(ann.pending) == [f"message {i}" for i in range(45, 50)]  # the newest are kept


def test_cached_ranking_replays_recorded_preferences(oni, tmp_path):
    # the labels say the first message is better; the recorded LLM answer preferred the second: the record wins
    table = write_table(tmp_path / "r.json", {"You kill the newt!": 1, "It's a wall.": 0},
                        [{"pair": ["You kill the newt!", "It's a wall."], "preference": 0.0}])
    ann = oni["oni_annotator"]("cached", (table,))
    ann.submit_pairs([("You kill the newt!", "It's a wall."), ("It's a wall.", "You kill the newt!")])
    assert ann.preferences == {("You kill the newt!", "It's a wall."): 0.0, ("It's a wall.", "You kill the newt!"): 1.0}


# ---------------------------------------------------------------- interrupted runs
def test_fatal_llm_error_stops_the_run_and_saves_no_checkpoint(monkeypatch, tmp_path, fake_llm):
    fake_llm.set_handler(lambda request, i: Reply(status=404, error_message="model not found"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(SystemExit, match="error: ONI annotator: .*HTTP 404"):  # one line, exit code 1
            run_main(monkeypatch, SCRIPT, tmp_path, *tiny(total_timesteps=3200), "--reward-model", "retrieval",
                     "--llm-mode", "live", "--llm-base-url", fake_llm.base_url, "--llm-model", "fake-model",
                     "--save-model")
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert not (run_dir / "summary.json").exists()  # the benchmark sweep must not count it as finished
    summary = json.loads((run_dir / "interrupted_summary.json").read_text())
    assert summary["interrupted"] and "HTTP 404" in summary["error"] and "model not found" in summary["llm_last_error"]
    assert summary["global_step"] < 3200 and summary["label_files"] == []
    # The error is noticed after an update and before its step is counted: no checkpoint of that state (none was due
    # on schedule before it, --checkpoint-frequency being 1M)
    assert not (run_dir / "checkpoint.pt").exists()


def tiny_args(mod, tmp_path, **overrides):
    return mod.Args(num_workers=2, envs_per_worker=2, rollout=8, batch_size=32, total_timesteps=96, hidden_size=32,
                    torch_threads=1, save_model=True, runs_dir=str(tmp_path), reward_model="none", **overrides)


def test_a_first_ctrl_c_finishes_the_update_then_saves_and_exits_0(monkeypatch, tmp_path):
    # a Ctrl-C during the second update: that update finishes, then the run saves its state after it and stops
    mod = load_script("appo_oni_nethack")
    update, calls = mod.learner_update, []

    def interrupted_update(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return update(*a, **k)

    monkeypatch.setattr(mod, "learner_update", interrupted_update)
    with pytest.raises(SystemExit) as stopped:  # Ctrl-C: saved, the resume command printed, exit code 0
        mod.train(tiny_args(mod, tmp_path))
    assert stopped.value.code == 0 and len(calls) == 2
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    summary = json.loads((run_dir / "interrupted_summary.json").read_text())
    assert summary["interrupted"] and summary["error"].startswith("KeyboardInterrupt")
    ckpt = torch.load(run_dir / "checkpoint.pt", weights_only=False)
    assert ckpt["global_step"] == 64 == summary["global_step"] and ckpt["version"] == 2


@pytest.mark.parametrize("how", ["exception", "second ctrl-c"])
def test_an_update_cut_short_leaves_the_last_checkpoint_as_it_was(monkeypatch, tmp_path, how):
    # A checkpoint on schedule after the first update (step 32). The second update changes the weights and the
    # optimiser, then is cut short before the run counts it: by an exception, or by a second Ctrl-C (KeyboardInterrupt
    # at once). That half-done state must not be saved: the step-32 checkpoint stays, byte for byte.
    mod = load_script("appo_oni_nethack")
    update, calls, saved, agents = mod.learner_update, [], [], []

    def update_cut_short(agent, *a, **kw):
        calls.append(1)
        if len(calls) < 2:
            return update(agent, *a, **kw)
        (checkpoint,) = tmp_path.glob("*/checkpoint.pt")
        saved.append(checkpoint.read_bytes())
        update(agent, *a, **kw)
        agents.append({k: v.detach().cpu().clone() for k, v in agent.state_dict().items()})
        if how == "second ctrl-c":
            os.kill(os.getpid(), signal.SIGINT)  # the first: stop after this update ...
            deadline = time.monotonic() + 10
            while not runkit.Run.current.stop.requested and time.monotonic() < deadline:
                time.sleep(0.01)
            os.kill(os.getpid(), signal.SIGINT)  # ... the second: stop at once
            time.sleep(10)  # the handler raises KeyboardInterrupt here
        raise RuntimeError("an update cut short")

    monkeypatch.setattr(mod, "learner_update", update_cut_short)
    with pytest.raises(KeyboardInterrupt if how == "second ctrl-c" else RuntimeError):  # raised, not SystemExit(0)
        mod.train(tiny_args(mod, tmp_path, checkpoint_frequency=32))
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert len(calls) == 2 and (run_dir / "checkpoint.pt").read_bytes() == saved[0]
    ckpt = torch.load(run_dir / "checkpoint.pt", weights_only=False)
    assert ckpt["global_step"] == 32 and ckpt["version"] == 1
    # what an overwrite would have saved differs: the update had changed the weights
    assert any(not torch.equal(ckpt["agent"][k], v) for k, v in agents[0].items())
    summary = json.loads((run_dir / "interrupted_summary.json").read_text())
    assert summary["interrupted"] and summary["error"].startswith("KeyboardInterrupt" if how == "second ctrl-c"
                                                                    else "RuntimeError: an update cut short")
    assert not (run_dir / "summary.json").exists()
