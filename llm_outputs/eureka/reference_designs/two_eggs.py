"""ShadowHandTwoCatchUnderarm: each hand throws its egg to the other; both eggs must reach their goals.

The first egg (`object_*`) starts in the right hand and ends at `goal_pos` in the left hand; the second
(`object_another_*`) goes the other way. A one-egg design would let the policy ignore half of the task.

2026-12-07: success bonuses no longer use the success test's thresholds, which the prompt does not state.
"""

TASKS = ("ShadowHandTwoCatchUnderarm",)

DESIGNS = {
    "both_eggs_goal_exp": '''def compute_reward(state):
    # design: both_eggs_goal_exp
    goal_temp = 0.1  # tunable
    success_bonus = 5.0  # tunable
    bonus_temp = 0.04  # tunable
    first_dist = torch.linalg.vector_norm(state["object_pos"] - state["goal_pos"], dim=-1)
    second_dist = torch.linalg.vector_norm(state["object_another_pos"] - state["goal_another_pos"], dim=-1)
    goal_reward = torch.exp(-first_dist / goal_temp) + torch.exp(-second_dist / goal_temp)
    # A sharp bonus for both eggs at their goals at once.
    success_reward = success_bonus * torch.exp(-(first_dist + second_dist) / bonus_temp)
    reward = goal_reward + success_reward
    return reward, {"goal_reward": goal_reward, "success_reward": success_reward}
''',
    "swap_catch_stages": '''def compute_reward(state):
    # design: swap_catch_stages
    catch_temp = 0.2  # tunable
    goal_temp = 0.05  # tunable
    catch_weight = 1.0  # tunable
    goal_weight = 2.0  # tunable
    # Each egg should first reach the palm of the hand that catches it, then settle at its goal.
    first_to_left = torch.linalg.vector_norm(state["object_pos"] - state["left_hand_pos"], dim=-1)
    second_to_right = torch.linalg.vector_norm(state["object_another_pos"] - state["right_hand_pos"], dim=-1)
    catch_reward = catch_weight * (torch.exp(-first_to_left / catch_temp) + torch.exp(-second_to_right / catch_temp))
    first_dist = torch.linalg.vector_norm(state["object_pos"] - state["goal_pos"], dim=-1)
    second_dist = torch.linalg.vector_norm(state["object_another_pos"] - state["goal_another_pos"], dim=-1)
    goal_reward = goal_weight * (torch.exp(-first_dist / goal_temp) + torch.exp(-second_dist / goal_temp))
    reward = catch_reward + goal_reward
    return reward, {"catch_reward": catch_reward, "goal_reward": goal_reward}
''',
    "worst_egg_velocity": '''def compute_reward(state):
    # design: worst_egg_velocity
    distance_weight = 2.0  # tunable
    velocity_weight = 0.3  # tunable
    drop_penalty = 2.0  # tunable
    first_offset = state["goal_pos"] - state["object_pos"]
    second_offset = state["goal_another_pos"] - state["object_another_pos"]
    first_dist = torch.linalg.vector_norm(first_offset, dim=-1)
    second_dist = torch.linalg.vector_norm(second_offset, dim=-1)
    # Penalise the egg that is further away, so that swapping only one egg is not enough.
    distance_penalty = -distance_weight * torch.maximum(first_dist, second_dist)
    first_speed = (state["object_linvel"] * first_offset).sum(dim=-1) / (first_dist + 1e-6)
    second_speed = (state["object_another_linvel"] * second_offset).sum(dim=-1) / (second_dist + 1e-6)
    velocity_reward = velocity_weight * (first_speed.clamp(-2.0, 2.0) * (first_dist > 0.05).float()
                                         + second_speed.clamp(-2.0, 2.0) * (second_dist > 0.05).float())
    lowest = torch.minimum(state["object_pos"][:, 2], state["object_another_pos"][:, 2])
    drop_reward = -drop_penalty * (lowest < state["goal_pos"][:, 2] - 0.3).float()
    reward = distance_penalty + velocity_reward + drop_reward
    return reward, {"distance_penalty": distance_penalty, "velocity_reward": velocity_reward, "drop_reward": drop_reward}
''',
    "fingertip_cradle": '''def compute_reward(state):
    # design: fingertip_cradle
    fingertip_temp = 0.3  # tunable
    goal_temp = 0.1  # tunable
    fingertip_weight = 0.5  # tunable
    goal_weight = 1.0  # tunable
    # The catching fingers: the left hand's for the first egg, the right hand's for the second.
    left_tips = state["fingertip_another_pos"] - state["object_pos"].unsqueeze(1)
    right_tips = state["fingertip_pos"] - state["object_another_pos"].unsqueeze(1)
    left_cradle = torch.exp(-torch.linalg.vector_norm(left_tips, dim=-1).mean(dim=-1) / fingertip_temp)
    right_cradle = torch.exp(-torch.linalg.vector_norm(right_tips, dim=-1).mean(dim=-1) / fingertip_temp)
    cradle_reward = fingertip_weight * (left_cradle + right_cradle)
    first_dist = torch.linalg.vector_norm(state["object_pos"] - state["goal_pos"], dim=-1)
    second_dist = torch.linalg.vector_norm(state["object_another_pos"] - state["goal_another_pos"], dim=-1)
    goal_reward = goal_weight * torch.exp(-(first_dist + second_dist) / goal_temp)
    reward = cradle_reward + goal_reward
    return reward, {"cradle_reward": cradle_reward, "goal_reward": goal_reward}
''',
}
