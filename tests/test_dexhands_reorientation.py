"""ShadowHandReOrientation: layout, reward with the overwritten goal test, running success count, new goals, drops."""

import math

import numpy as np
import torch

import dexhands
from dexhands.rotations import xyzw_to_wxyz
from dexhands.tasks import TASK_CONFIGS

TASK = TASK_CONFIGS["ShadowHandReOrientation"]
QUARTER_X = (math.sin(math.pi / 4), 0.0, 0.0, math.cos(math.pi / 4))  # 90° about x


def _state(rot_first, rot_second, z=0.52):
    t = lambda v: torch.tensor([v], dtype=torch.float32)  # noqa: E731
    return {"object_pos": t((0, -0.39, z)), "object_rot": t(rot_first), "goal_pos": t((0, -0.39, 0.60)),
            "goal_rot": t((0, 0, 0, 1)), "object_another_pos": t((0, -0.76, 0.60)), "object_another_rot": t(rot_second),
            "goal_another_pos": t((0, -0.76, 0.60)), "goal_another_rot": t((0, 0, 0, 1)), "actions": torch.ones(1, 40)}


def test_reward_and_the_overwritten_goal_condition():
    reward, reached, fallen = TASK.compute_reward(_state((0, 0, 0, 1), QUARTER_X))
    expected = -10 * (0.60 - 0.52) + 1 / 0.1 + 1 / (math.pi / 2 + 0.1) - 0.0002 * 40
    assert math.isclose(reward.item(), expected, rel_tol=1e-4)
    assert not reached.item() and not fallen.item()  # first cube on its goal rotation does not count
    reward, reached, _ = TASK.compute_reward(_state(QUARTER_X, (0, 0, 0, 1)))
    assert reached.item() and math.isclose(reward.item(), expected + 500, rel_tol=1e-4)  # only the second counts
    assert TASK.compute_reward(_state((0, 0, 0, 1), (0, 0, 0, 1), z=0.2))[2].item()  # dropped


def _match_second_cube(env, row):
    qadr = env.scene.object_qpos[1]
    env.sim.qpos[row, qadr[3:7]] = xyzw_to_wxyz(env.goal_rot[row, 1]).numpy()
    env.sim.qvel[row] = 0.0


def test_layout_goal_count_new_goals_and_drop_reset():
    env = dexhands.make("ShadowHandReOrientation", 2, num_threads=1)
    obs = env.reset()
    assert obs.shape == (2, 422) and env.act_dim == 40 and env.episode_length == 600
    np.testing.assert_allclose(obs[:, 374:381].numpy(), env.state["object_pose"].numpy())
    assert torch.equal(env.goal_rot[:, 0], env.goal_rot[:, 1])  # one rotation for both goals
    zeros = torch.zeros(2, 40)
    for count in (1, 2):
        old_goal = env.goal_rot[0, 1].clone()
        _match_second_cube(env, 0)
        _, reward, terminated, _, info = env.step(zeros)
        assert info["success"].tolist() == [count, 0] and reward[0] > 500 and not terminated.any()
        assert not torch.allclose(env.goal_rot[0, 1], old_goal)  # a new goal at once, shown in the state
        assert torch.equal(env.state["goal_another_rot"][0], env.goal_rot[0, 1])
    env.sim.qpos[0, env.scene.object_qpos[0][2]] = 0.1  # first cube dropped
    _, _, terminated, _, info = env.step(zeros)
    assert terminated.tolist() == [True, False] and info["success"][0] == 2  # the count of the ended episode
    assert env.state["successes"][0] == 0
