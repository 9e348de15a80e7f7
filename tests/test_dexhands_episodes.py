"""Rewards, sticky success, drop and time-out resets, autoreset semantics."""

import math

import numpy as np
import torch

import dexhands
from dexhands.tasks import TASK_CONFIGS


def _state(obj_pos, goal_pos, obj_rot=(0, 0, 0, 1), goal_rot=(0, 0, 0, 1)):
    t = lambda v: torch.tensor([v], dtype=torch.float32)  # noqa: E731
    return {"object_pos": t(obj_pos), "object_rot": t(obj_rot), "goal_pos": t(goal_pos), "goal_rot": t(goal_rot)}


def test_reward_formula_on_constructed_states():
    task = TASK_CONFIGS["ShadowHandCatchUnderarm"]  # α = 50
    reward, success, terminate = task.compute_reward(_state((0, -0.79, 0.54), (0, -0.79, 0.54)))
    assert reward.item() == 1.0 and success.item() and not terminate.item()
    reward, success, _ = task.compute_reward(_state((0, -0.69, 0.54), (0, -0.79, 0.54)))
    assert math.isclose(reward.item(), math.exp(-0.2 * 50 * 0.1), rel_tol=1e-5) and not success.item()
    half_turn_z = (0, 0, math.sin(math.pi / 4), math.cos(math.pi / 4))  # 90° about z
    reward, success, _ = task.compute_reward(_state((0, -0.78, 0.54), (0, -0.79, 0.54), obj_rot=half_turn_z))
    assert math.isclose(reward.item(), math.exp(-0.2 * (50 * 0.01 + math.pi / 2)), rel_tol=1e-4)
    assert success.item()  # success is position only
    _, _, terminate = task.compute_reward(_state((0, -0.5, 0.09), (0, -0.79, 0.54)))
    assert terminate.item()  # dropped


def test_two_catch_reward_sums_both_eggs():
    task = TASK_CONFIGS["ShadowHandTwoCatchUnderarm"]
    state = _state((0, -0.79, 0.54), (0, -0.79, 0.54))
    other = _state((0, -0.38, 0.59), (0, -0.38, 0.54))
    state.update({k.replace("object", "object_another").replace("goal", "goal_another"): v for k, v in other.items()})
    reward, success, _ = task.compute_reward(state)
    assert math.isclose(reward.item(), 1 + math.exp(-0.2 * 50 * 0.05), rel_tol=1e-5)
    assert success.item()  # d1 + d2 = 0.05 < 0.06


def _place_egg(env, row, pos):
    qadr = env.scene.object_qpos[0]
    env.sim.qpos[row, qadr[:3]] = pos
    env.sim.qvel[row] = 0.0


def test_success_is_latched_until_the_episode_ends():
    env = dexhands.make("ShadowHandOver", 2)
    env.reset()
    zeros = torch.zeros(2, 40)
    _place_egg(env, 0, env.goal_pos[0, 0].numpy())
    _, _, _, _, info = env.step(zeros)
    assert info["success"].tolist() == [1.0, 0.0]
    _place_egg(env, 0, [0.0, -0.39, 0.54])  # back in the right hand: far from the goal
    for _ in range(3):
        _, _, terminated, _, info = env.step(zeros)
    assert info["success"][0] == 1.0 and not terminated.any()
    _place_egg(env, 0, [0.0, -0.39, 0.1])  # dropped: the episode ends, success still reported for it
    obs, _, terminated, truncated, info = env.step(zeros)
    assert terminated.tolist() == [True, False] and not truncated.any()
    assert info["success"][0] == 1.0 and info["episode_end"].tolist() == [True, False]
    assert env.successes[0] == 0.0 and env.progress_buf.tolist() == [0, 5]
    assert info["final_obs"][0, 398 - 24 + 2] < 0.2  # terminal obs: egg z on the floor side
    assert obs[0, 398 - 24 + 2] > 0.5  # new episode: egg back in the right hand
    assert torch.equal(info["final_obs"][1], obs[1])


def test_time_out_resets_every_env():
    env = dexhands.make("ShadowHandOver", 2)
    env.reset()
    zeros = torch.zeros(2, 40)
    for step in range(1, 76):
        obs, reward, terminated, truncated, info = env.step(zeros)
        if step < 75:
            assert not truncated.any() and not terminated.any()
    assert truncated.all() and info["time_out"].all() and info["episode_end"].all()
    assert (info["episode_length"] == 75).all()
    assert (env.progress_buf == 0).all()
    np.testing.assert_allclose(obs[:, 398 - 24:398 - 21].numpy(), [[0, -0.39, 0.54]] * 2, atol=0.011)


def test_final_state_holds_the_state_reached_before_the_reset():
    env = dexhands.make("ShadowHandOver", 2)
    env.reset()
    actions = torch.full((2, 40), 0.1)
    _place_egg(env, 0, [0.0, -0.39, 0.1])  # env 0 drops its egg on this step
    goal_rot = env.state["goal_rot"].clone()
    _, _, terminated, _, info = env.step(actions)
    assert terminated.tolist() == [True, False]
    final, now = info["final_state"], env.state
    assert torch.equal(final["actions"], actions)  # the actions taken, although the reset zeroes env 0's row
    assert final["object_pos"][0, 2] < 0.2 < now["object_pos"][0, 2]  # reached: dropped; now: reset into the hand
    assert info["episode_length"].tolist() == [1, 1] and env.progress_buf.tolist() == [0, 1]
    assert torch.equal(final["object_pos"][1], now["object_pos"][1])  # envs that go on are the same in both
    # The reset draws env 0 a new goal rotation in place; the final state keeps the goal its episode was scored on.
    assert torch.equal(final["goal_rot"], goal_rot) and torch.equal(final["goal_pose"][:, 3:], goal_rot)
    assert not torch.equal(now["goal_rot"][0], goal_rot[0]) and torch.equal(now["goal_rot"][1], goal_rot[1])


def test_hands_drifting_from_their_start_end_the_episode():
    for name in ("ShadowHandCatchOver2Underarm", "ShadowHandCatchAbreast"):
        task = TASK_CONFIGS[name]
        state = _state((0, -0.4, 0.6), (0, -0.4, 0.55))
        for hand, centre in zip(("right", "left"), task.drift_centres):
            state[f"{hand}_{task.drift_key}"] = torch.tensor([centre])
        assert not task.compute_reward(state)[2].item(), name
        state[f"left_{task.drift_key}"] = torch.tensor([centre]) + torch.tensor([[0.0, 0.0, 0.11]])
        assert task.compute_reward(state)[2].item(), name
    assert TASK_CONFIGS["ShadowHandCatchOver2Underarm"].dist_reward_scale == 20.0  # the one task with α = 20
