"""Tests of algos/appo_oni_nethack.py: V-trace against a hand-computed example, the count-scaled intrinsic reward, label
parsing, the shipped reference labels, the annotator against the fake LLM server with an outage, and smoke runs of
APPO with 2 actor processes for every reward model (real updates), a resumed run and a live run through an outage."""

import json
import math
import runpy
import time
import warnings
from pathlib import Path

import pytest
import torch
from fake_llm_server import Reply
from script_tools import read_scalars, run_main

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "algos" / "appo_oni_nethack.py"
TINY = {"--num-workers": "2", "--envs-per-worker": "2", "--rollout": "8", "--batch-size": "32", "--total-timesteps": "96",
        "--hidden-size": "32", "--torch-threads": "1", "--classifier-steps": "2", "--classifier-batch-size": "32"}


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
    labels = torch.tensor([1.0, 1.0, 1.0, 0.0, 1.0])
    counts = torch.tensor([1.0, 2.0, 3.0, 1.0, 0.0])  # count 0: no message on that step
    r = oni["intrinsic_reward"](labels, counts, 3.0)
    assert torch.allclose(r, torch.tensor([1.0, 1 / 8, 1 / 27, 0.0, 0.0]))


def test_parse_preference(oni):
    parse = oni["parse_preference"]
    assert parse("<comparison>..</comparison>\nbest_description: 1") == 1.0
    assert parse("best_description: 2") == 0.0
    assert parse("best_description: None") == 0.5 and parse("I cannot say") == 0.5


def test_tasks(oni):
    import numpy as np

    env = oni["make_env"]("NetHackStaircaseLvl3ExtendedActions-v1", 0)
    assert env.action_space.n == 28  # 23 task actions + CAST, QUAFF, PRAY, PICKUP, PAY
    fake = [None] * 32
    fake[env._blstats_index] = np.zeros(27, dtype=np.int64)
    fake[env._blstats_index][12] = 2
    assert env._is_episode_end(fake) == env.StepStatus.RUNNING
    fake[env._blstats_index][12] = 3
    assert env._is_episode_end(fake) == env.StepStatus.TASK_SUCCESSFUL
    env4 = oni["make_env"]("NetHackStaircaseLvl4ExtendedActions-v1", 0)
    assert env4._is_episode_end(fake) == env4.StepStatus.RUNNING
    oracle = oni["make_env"]("NetHackOracleExtendedActions-v1", 0)
    _, r, *_ = oracle.step(0)
    assert r <= 0.0  # no bonus before reaching the Oracle
    assert oni["TASK_COEFF"]["NetHackScoreExtendedActions-v1"] == 0.1
    for env_ in (env, env4, oracle):
        env_.close()


def test_parse_label(oni):
    parse = oni["parse_label"]
    assert parse("<knowledge>..</knowledge><analysis>BAR would be wrong</analysis><label>FOO</label>") == 1
    assert parse("<label>BAR</label>") == 0
    with pytest.warns(UserWarning, match="no FOO/BAR"):
        assert parse("no idea") == 0


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
    ann = oni["Annotator"]("live", (), None, "fake-model", fake_llm.base_url, batch_size=2, concurrency=2,
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
        assert any("failed" in str(w.message) for w in caught)
        assert "12 gold pieces." not in ann.labels  # unlabelled, still pending
        outage["on"] = False
        assert wait_for(lambda: len(ann.labels) == 4)
        assert ann.labels["12 gold pieces."] == 1 and ann.labels["The door opens."] == 0
    finally:
        ann.close()


def test_annotator_unreachable_endpoint_never_raises(oni):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ann = oni["Annotator"]("live", (), None, "fake-model", "http://127.0.0.1:9/v1", batch_size=4, timeout_s=0.5,
                               retry_s=0.1)
        try:
            ann.submit(["Hello"])
            assert wait_for(lambda: ann.failures >= 1)
            assert ann.labels == {} and ann.thread.is_alive()
        finally:
            ann.close()


@pytest.mark.parametrize("reward_model", ["none", "retrieval", "classification", "ranking"])
def test_smoke_each_reward_model(monkeypatch, tmp_path, reward_model):
    run_dir, summary = run_script(monkeypatch, tmp_path, *tiny(), "--reward-model", reward_model)
    assert summary["global_step"] == 96 and summary["policy_versions"] == 3
    tags = read_scalars(run_dir)
    assert len(tags["losses/policy_loss"]) == 3 and all(math.isfinite(v) for v in tags["losses/value_loss"])
    assert "charts/policy_lag_mean" in tags and "llm/labels" in tags
    if reward_model != "none":
        assert summary["labels"] >= 500  # the reference table
    if reward_model in ("classification", "ranking"):
        assert math.isfinite(tags[f"losses/{reward_model}_model_loss"][-1])
    if reward_model == "ranking":
        assert summary["preferences"] >= 1  # cached mode: preferences from the reference labels


def test_checkpoint_resumes(monkeypatch, tmp_path, oni):
    first, s1 = run_script(monkeypatch, tmp_path / "a", *tiny(), "--reward-model", "classification", "--save-model")
    ckpt_path = first / "appo_oni_nethack.cleanrl_model"
    ckpt = torch.load(ckpt_path, weights_only=False)
    assert ckpt["annotator"]["labels"] and ckpt["reward_model"]["dataset"] and ckpt["reward_model"]["optimizer"]["state"]
    assert ckpt["optimizer"]["state"]
    _, s2 = run_script(monkeypatch, tmp_path / "b", *tiny(total_timesteps=160), "--reward-model", "classification", "--resume", str(ckpt_path))
    assert s2["global_step"] == 160 and s2["policy_versions"] == 5


def test_live_run_survives_outage(monkeypatch, tmp_path, fake_llm):
    fake_llm.set_handler(lambda request, i: Reply(status=500) if i < 20 else Reply(answers=["<label>FOO</label>"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, summary = run_script(monkeypatch, tmp_path, *tiny(total_timesteps=640), "--reward-model", "retrieval", "--llm-mode", "live", "--llm-base-url",
                                fake_llm.base_url, "--llm-model", "fake-model", "--llm-label-files",
                                "--llm-retry-s", "0.1", "--llm-timeout-s", "2")
    assert summary["global_step"] == 640
    assert summary["llm_failures"] >= 1  # the outage was seen and survived
    assert summary["labels"] >= 1  # labels resumed after it


def test_annotator_ranking_pairs(oni, fake_llm):
    fake_llm.set_handler(lambda request, i: Reply(answers=["<comparison>the first</comparison>\nbest_description: 1"]))
    ann = oni["Annotator"]("live", (), None, "fake-model", fake_llm.base_url, batch_size=4, retry_s=0.1)
    try:
        ann.submit_pairs([("You kill the newt!", "It's a wall."), ("$ - 3 gold pieces.", "Never mind.")])
        assert ann.pending_pairs() <= 2
        assert wait_for(lambda: len(ann.preferences) == 2)
        assert ann.preferences[("You kill the newt!", "It's a wall.")] == 1.0
        assert "best_description" in fake_llm.requests[0]["messages"][-1]["content"]
        assert len(ann.take_new_labels()) == 2
    finally:
        ann.close()


def test_cached_ranking_prefers_the_higher_label(oni):
    ann = oni["Annotator"]("cached", ("llm_outputs/oni/reference_labels.json",))
    foo = next(m for m, v in ann.labels.items() if v == 1)
    bar = next(m for m, v in ann.labels.items() if v == 0)
    ann.submit_pairs([(foo, bar), (bar, foo), (bar, bar), ("never seen", foo)])
    assert ann.preferences == {(foo, bar): 1.0, (bar, foo): 0.0, (bar, bar): 0.5}


def test_record_mode_writes_recorded_provenance(oni, fake_llm, tmp_path):
    fake_llm.set_handler(lambda request, i: Reply(answers=["<label>FOO</label>"]))
    out = tmp_path / "recorded_labels.json"
    ann = oni["Annotator"]("record", (), str(out), "fake-model", fake_llm.base_url, batch_size=4, retry_s=0.1)
    try:
        ann.submit(["You kill the jackal!"])
        assert wait_for(lambda: out.is_file())
    finally:
        ann.close()
    table = json.loads(out.read_text())
    assert table["labels"] == {"You kill the jackal!": 1}
    prov = table["entries"]["You kill the jackal!"]["provenance"]
    assert prov["source"] == "recorded" and prov["model"] == "fake-model" and prov["temperature"] == 0.1
    # a later run can read the recorded table like the reference one
    assert oni["Annotator"]("cached", (str(out),)).labels == {"You kill the jackal!": 1}
