"""The MuJoCo Warp backend against the CPU backend: same start and actions, the same trajectory within a tolerance.

Runs Warp on the CPU (single-threaded), so it is slow the first time: Warp compiles its kernels (a few minutes
on a loaded 2-core machine) into a cache under the pytest cache (`.pytest_cache/d/warp-kernels`, or
WARP_CACHE_PATH when set), after which the file takes seconds.

Tolerances. Warp computes in float32 with a looser solver tolerance (1e-6 against C MuJoCo's 1e-8, float64),
so the two trajectories drift apart once contacts start. On ShadowHandOver with 2 envs and these actions the
measured gaps after 16 steps were 1.6e-3 rad (hand joints) and 2.5e-3 m (egg), and below 1e-6 on the first
step; the test allows 1e-2 over the whole run and 1e-4 after the first step. A wrong actuator mapping, sensor
timing or reset shows up as gaps of 0.1 or more.
"""

import os

import mujoco
import numpy as np
import pytest
import torch

import dexhands

pytest.importorskip("mujoco_warp")

TASK = "ShadowHandOver"
STEPS = 16
FIRST_STEP_TOL = 1e-4
TRAJECTORY_TOL = 1e-2
HAND_KEYS = ("shadow_hand_dof_pos", "shadow_hand_another_dof_pos")


@pytest.fixture(scope="module", autouse=True)
def warp_kernel_cache(request):
    """Compiled Warp kernels are kept between runs (the first compile is the slow part of this file)."""
    import warp as wp

    if not os.environ.get("WARP_CACHE_PATH"):
        wp.config.kernel_cache_dir = str(request.config.cache.mkdir("warp-kernels"))


def progress_functions(pc, args, env) -> list:
    """Every progress-function sample for the task: (compiled function, answer text) pairs."""
    return [(pc.compile_progress(a, k), a.text) for k, a in enumerate(pc.ask_progress_answers(args, env))]


def _pair(task: str = TASK, num_envs: int = 2, seed: int = 0):
    return {backend: dexhands.make(task, num_envs, backend=backend, seed=seed, num_threads=1)
            for backend in ("mujoco", "warp")}


def _gap(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], keys) -> float:
    return max((a[k] - b[k]).abs().max().item() for k in keys)


@pytest.mark.slow
def test_warp_follows_the_cpu_trajectory():
    envs = _pair()
    obs = {name: env.reset() for name, env in envs.items()}
    cpu, gpu = envs["mujoco"], envs["warp"]
    assert obs["mujoco"].shape == obs["warp"].shape == (2, cpu.obs_dim)
    assert _gap(cpu.state, gpu.state, HAND_KEYS + ("object_pos",)) < 1e-6  # same reset draws
    gen = torch.Generator().manual_seed(0)
    for step in range(STEPS):
        actions = (torch.rand(2, cpu.act_dim, generator=gen) * 2 - 1) * 0.5
        out = {name: env.step(actions) for name, env in envs.items()}
        for (a, b) in zip(out["mujoco"][:4], out["warp"][:4]):
            assert a.shape == b.shape and a.dtype == b.dtype
        assert set(cpu.state) == set(gpu.state)
        assert all(cpu.state[k].shape == gpu.state[k].shape for k in cpu.state)
        tol = FIRST_STEP_TOL if step == 0 else TRAJECTORY_TOL
        assert _gap(cpu.state, gpu.state, HAND_KEYS) < tol, f"hand joints apart at step {step}"
        assert _gap(cpu.state, gpu.state, ("object_pos",)) < tol, f"object apart at step {step}"
        assert torch.allclose(out["mujoco"][1], out["warp"][1], atol=tol), f"rewards apart at step {step}"
        assert torch.equal(out["mujoco"][2], out["warp"][2]) and torch.equal(out["mujoco"][3], out["warp"][3])
        assert torch.equal(out["mujoco"][4]["success"], out["warp"][4]["success"])
    for env in envs.values():
        env.close()


@pytest.mark.slow
def test_warp_resets_finished_envs_only():
    env = dexhands.make(TASK, 2, backend="warp", seed=0)
    env.reset()
    zeros = torch.zeros(2, env.act_dim)
    for _ in range(2):
        env.step(zeros)
    env.progress_buf[0] = env.episode_length - 1
    _, _, _, truncated, info = env.step(zeros)
    assert truncated.tolist() == [True, False] and env.progress_buf.tolist() == [0, 3]
    final, now = info["final_state"], env.state
    # Env 1 carries on untouched, its (one physics step old) sensor values included; env 0 starts over.
    for key in HAND_KEYS + ("object_pos", "fingertip_pos", "fingertip_another_pos"):
        assert torch.equal(final[key][1], now[key][1]), key
    for key, hand in zip(HAND_KEYS, env.scene.hands.values()):
        low, high = torch.tensor(hand.joint_low).float(), torch.tensor(hand.joint_high).float()
        default = torch.zeros(24).clamp(low, high)
        noise = env.task.reset_dof_pos_noise
        assert ((now[key][0] >= default + noise * (low - default) - 1e-6).all()
                and (now[key][0] <= default + noise * (high - default) + 1e-6).all()), key
        assert not torch.equal(now[key][0], final[key][0]), key
    start = torch.tensor(env.task.layout.object_starts[0])
    assert ((now["object_pos"][0] - start).abs() <= env.task.reset_position_noise + 1e-6).all()
    # The new episode's sensors were recomputed from its state: C MuJoCo's mj_forward of that state agrees.
    cpu = dexhands.make(TASK, 2, backend="mujoco", num_threads=1)
    cpu.reset()
    for name in ("qpos", "qvel", "ctrl"):
        getattr(cpu.sim, name)[0] = getattr(env.buffers, name)[0].numpy()
    cpu.sim.forward(np.array([0]))
    exact = cpu.reader.read(*(torch.from_numpy(a) for a in (cpu.sim.qpos, cpu.sim.qvel, cpu.sim.sensordata)))
    for key in ("fingertip_pos", "fingertip_another_pos", "right_hand_pos", "left_hand_pos"):
        assert (exact[key][0] - now[key][0]).abs().max() < 1e-5, key
        assert (final[key][0] - now[key][0]).abs().max() > 1e-3, key
    env.close()
    cpu.close()


@pytest.mark.slow
def test_warp_overflow_is_a_clear_error():
    from dexhands.warp_batch import WarpSimulator

    model = dexhands.make(TASK, 2).scene.model
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    # Room for exactly the joint-limit rows of the start pose: the first contacts overflow it.
    sim = WarpSimulator(model, 2, 2, torch.device("cpu"), njmax=data.nefc, check_every=1)
    with pytest.raises(RuntimeError, match="njmax"):
        for _ in range(40):
            sim.step()


@pytest.mark.slow
def test_ppo_trains_end_to_end_on_warp(tmp_path, monkeypatch):
    """ProgressCounts' whole loop (rollout, progress functions through the safe runner, counts, PPO update) runs on
    the Warp backend's tensors, and the env it trains on is the Warp simulator."""
    from script_tools import load_script

    pc = load_script("ppo_progresscounts_isaac")
    simulators = []
    make = dexhands.make

    def recording_make(*args, **kwargs):
        env = make(*args, **kwargs)
        simulators.append((kwargs.get("backend"), type(env.sim).__name__))
        return env

    monkeypatch.setattr(dexhands, "make", recording_make)
    args = pc.fill_runtime_args(pc.Args(task=TASK, backend="warp", num_envs=2, num_steps=4, total_timesteps=22,
                                        hidden_sizes=(16, 16), range_steps=3, cuda=False))
    fn, answer = progress_functions(pc, args, make(TASK, num_envs=2))[0]
    summary = pc.train(args, tmp_path, fn, answer)
    assert ("warp", "WarpSimulator") in simulators
    # 6 range-estimation steps (3 per env) count towards the budget, then 2 PPO iterations of 8 steps.
    assert summary["global_step"] == 22 and summary["distinct_bins"] >= 1
