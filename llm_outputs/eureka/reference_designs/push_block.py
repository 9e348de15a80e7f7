"""ShadowHandPushBlock: each hand pushes the cube in front of it 0.2 m further away (towards -x) onto its goal.

2026-12-07: success bonuses no longer use the success test's thresholds, which the prompt does not state.
"""

TASKS = ("ShadowHandPushBlock",)

DESIGNS = {
    "push_goal_exp": '''def compute_reward(state):
    # design: push_goal_exp
    reach_temp = 0.1  # tunable
    goal_temp = 0.1  # tunable
    reach_weight = 0.5  # tunable
    goal_weight = 2.0  # tunable
    success_bonus = 5.0  # tunable
    bonus_temp = 0.05  # tunable
    right_tips = state["fingertip_pos"] - state["block_right_handle_pos"].unsqueeze(1)
    left_tips = state["fingertip_another_pos"] - state["block_left_handle_pos"].unsqueeze(1)
    right_reach = torch.linalg.vector_norm(right_tips, dim=-1).mean(dim=-1)
    left_reach = torch.linalg.vector_norm(left_tips, dim=-1).mean(dim=-1)
    reach_reward = reach_weight * (torch.exp(-right_reach / reach_temp) + torch.exp(-left_reach / reach_temp))
    right_goal = torch.linalg.vector_norm(state["object_pos"] - state["right_goal_pos"], dim=-1)
    left_goal = torch.linalg.vector_norm(state["object_another_pos"] - state["left_goal_pos"], dim=-1)
    goal_reward = goal_weight * (torch.exp(-right_goal / goal_temp) + torch.exp(-left_goal / goal_temp))
    # A sharp bonus for both blocks on their goals at once.
    success_reward = success_bonus * torch.exp(-(right_goal + left_goal) / bonus_temp)
    reward = reach_reward + goal_reward + success_reward
    return reward, {"reach_reward": reach_reward, "goal_reward": goal_reward, "success_reward": success_reward}
''',
    "push_progress_x": '''def compute_reward(state):
    # design: push_progress_x
    progress_weight = 3.0  # tunable
    drift_weight = 5.0  # tunable
    behind_weight = 2.0  # tunable
    push_distance = 0.2  # each block starts 0.2 m behind its goal along x
    right_progress = (state["right_goal_pos"][:, 0] + push_distance - state["object_pos"][:, 0]) / push_distance
    left_progress = (state["left_goal_pos"][:, 0] + push_distance - state["object_another_pos"][:, 0]) / push_distance
    progress_reward = progress_weight * (right_progress.clamp(0.0, 1.0) + left_progress.clamp(0.0, 1.0))
    right_drift = (state["object_pos"][:, 1] - state["right_goal_pos"][:, 1]).abs()
    left_drift = (state["object_another_pos"][:, 1] - state["left_goal_pos"][:, 1]).abs()
    drift_penalty = -drift_weight * (right_drift + left_drift)
    # A palm on the +x side of its block, close to it, is in position to push.
    right_behind = (state["right_hand_pos"][:, 0] - state["object_pos"][:, 0]).clamp(0.0, 0.1)
    left_behind = (state["left_hand_pos"][:, 0] - state["object_another_pos"][:, 0]).clamp(0.0, 0.1)
    right_close = torch.linalg.vector_norm(state["right_hand_pos"] - state["object_pos"], dim=-1)
    left_close = torch.linalg.vector_norm(state["left_hand_pos"] - state["object_another_pos"], dim=-1)
    behind_reward = behind_weight * (right_behind - right_close + left_behind - left_close)
    reward = progress_reward + drift_penalty + behind_reward
    return reward, {"progress_reward": progress_reward, "drift_penalty": drift_penalty, "behind_reward": behind_reward}
''',
    "palm_behind_velocity": '''def compute_reward(state):
    # design: palm_behind_velocity
    palm_temp = 0.05  # tunable
    palm_weight = 1.0  # tunable
    velocity_weight = 2.0  # tunable
    # Pushing pose: the palm centre a little behind (+x) and above the block's centre.
    offset = torch.zeros_like(state["object_pos"])
    offset[:, 0] = 0.06
    offset[:, 2] = 0.03
    right_palm = torch.linalg.vector_norm(state["right_hand_pos"] - (state["object_pos"] + offset), dim=-1)
    left_palm = torch.linalg.vector_norm(state["left_hand_pos"] - (state["object_another_pos"] + offset), dim=-1)
    palm_reward = palm_weight * (torch.exp(-right_palm / palm_temp) + torch.exp(-left_palm / palm_temp))
    right_offset = state["right_goal_pos"] - state["object_pos"]
    left_offset = state["left_goal_pos"] - state["object_another_pos"]
    right_dist = torch.linalg.vector_norm(right_offset, dim=-1)
    left_dist = torch.linalg.vector_norm(left_offset, dim=-1)
    right_speed = (state["object_linvel"] * right_offset).sum(dim=-1) / (right_dist + 1e-6)
    left_speed = (state["object_another_linvel"] * left_offset).sum(dim=-1) / (left_dist + 1e-6)
    velocity_reward = velocity_weight * (right_speed.clamp(-0.5, 0.5) * (right_dist > 0.02).float()
                                         + left_speed.clamp(-0.5, 0.5) * (left_dist > 0.02).float())
    reward = palm_reward + velocity_reward
    return reward, {"palm_reward": palm_reward, "velocity_reward": velocity_reward}
''',
    "worst_block_penalty": '''def compute_reward(state):
    # design: worst_block_penalty
    goal_weight = 5.0  # tunable
    reach_weight = 1.0  # tunable
    success_bonus = 4.0  # tunable
    bonus_temp = 0.05  # tunable
    right_goal = torch.linalg.vector_norm(state["object_pos"] - state["right_goal_pos"], dim=-1)
    left_goal = torch.linalg.vector_norm(state["object_another_pos"] - state["left_goal_pos"], dim=-1)
    # The block that lags behind sets the penalty: both must be pushed.
    goal_penalty = -goal_weight * torch.maximum(right_goal, left_goal)
    right_reach = torch.linalg.vector_norm(state["right_hand_mf_pos"] - state["object_pos"], dim=-1)
    left_reach = torch.linalg.vector_norm(state["left_hand_mf_pos"] - state["object_another_pos"], dim=-1)
    reach_penalty = -reach_weight * (right_reach + left_reach)
    success_reward = success_bonus * 0.5 * (torch.exp(-left_goal / bonus_temp) + torch.exp(-right_goal / bonus_temp))
    reward = goal_penalty + reach_penalty + success_reward
    return reward, {"goal_penalty": goal_penalty, "reach_penalty": reach_penalty, "success_reward": success_reward}
''',
}
