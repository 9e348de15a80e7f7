"""The object-throwing tasks with one egg: the right hand throws it, the left hand catches it at the goal.

The same state keys exist in all four tasks, so one set of designs serves them.

2026-12-07: success bonuses no longer use the success test's thresholds, which the prompt does not state.
"""

TASKS = ("ShadowHandOver", "ShadowHandCatchUnderarm", "ShadowHandCatchOver2Underarm", "ShadowHandCatchAbreast")

DESIGNS = {
    "goal_distance_exp": '''def compute_reward(state):
    # design: goal_distance_exp
    goal_temp = 0.1  # tunable
    success_bonus = 5.0  # tunable
    bonus_temp = 0.02  # tunable
    goal_dist = torch.linalg.vector_norm(state["object_pos"] - state["goal_pos"], dim=-1)
    goal_reward = torch.exp(-goal_dist / goal_temp)
    # A sharp bonus on top of the goal term for holding the object right at the goal.
    success_reward = success_bonus * torch.exp(-goal_dist / bonus_temp)
    reward = goal_reward + success_reward
    return reward, {"goal_reward": goal_reward, "success_reward": success_reward}
''',
    "staged_throw_catch": '''def compute_reward(state):
    # design: staged_throw_catch
    catch_temp = 0.2  # tunable
    goal_temp = 0.05  # tunable
    catch_weight = 1.0  # tunable
    goal_weight = 2.0  # tunable
    to_left_hand = torch.linalg.vector_norm(state["object_pos"] - state["left_hand_pos"], dim=-1)
    goal_dist = torch.linalg.vector_norm(state["object_pos"] - state["goal_pos"], dim=-1)
    catch_reward = catch_weight * torch.exp(-to_left_hand / catch_temp)
    goal_reward = goal_weight * torch.exp(-goal_dist / goal_temp)
    reward = catch_reward + goal_reward
    return reward, {"catch_reward": catch_reward, "goal_reward": goal_reward}
''',
    "velocity_toward_goal": '''def compute_reward(state):
    # design: velocity_toward_goal
    velocity_weight = 0.5  # tunable
    distance_weight = 1.0  # tunable
    drop_penalty = 2.0  # tunable
    drop_margin = 0.3  # tunable
    offset = state["goal_pos"] - state["object_pos"]
    goal_dist = torch.linalg.vector_norm(offset, dim=-1)
    direction = offset / (goal_dist.unsqueeze(-1) + 1e-6)
    speed_toward_goal = (state["object_linvel"] * direction).sum(dim=-1).clamp(-2.0, 2.0)
    velocity_reward = velocity_weight * speed_toward_goal * (goal_dist > 0.05).float()
    distance_penalty = -distance_weight * goal_dist
    dropped = (state["object_pos"][:, 2] < state["goal_pos"][:, 2] - drop_margin).float()
    drop_reward = -drop_penalty * dropped
    reward = velocity_reward + distance_penalty + drop_reward
    return reward, {"velocity_reward": velocity_reward, "distance_penalty": distance_penalty, "drop_reward": drop_reward}
''',
    "fingertip_catch": '''def compute_reward(state):
    # design: fingertip_catch
    fingertip_temp = 0.3  # tunable
    goal_temp = 0.1  # tunable
    fingertip_weight = 0.5  # tunable
    goal_weight = 1.0  # tunable
    tips = state["fingertip_another_pos"]
    fingertip_dist = torch.linalg.vector_norm(tips - state["object_pos"].unsqueeze(1), dim=-1).mean(dim=-1)
    goal_dist = torch.linalg.vector_norm(state["object_pos"] - state["goal_pos"], dim=-1)
    grasp_reward = fingertip_weight * torch.exp(-fingertip_dist / fingertip_temp)
    goal_reward = goal_weight * torch.exp(-goal_dist / goal_temp)
    reward = grasp_reward + goal_reward
    return reward, {"grasp_reward": grasp_reward, "goal_reward": goal_reward}
''',
}
