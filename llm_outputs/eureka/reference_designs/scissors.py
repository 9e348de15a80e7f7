"""ShadowHandScissors: the hands hook into the finger loops and pull the legs apart (hinge -0.59 closed -> 0.4 open).

2026-12-07: success bonuses no longer use the success test's thresholds, which the prompt does not state.
"""

TASKS = ("ShadowHandScissors",)

DESIGNS = {
    "open_angle_progress": '''def compute_reward(state):
    # design: open_angle_progress
    reach_temp = 0.1  # tunable
    reach_weight = 1.0  # tunable
    open_weight = 5.0  # tunable
    near_radius = 0.12  # tunable
    right_tips = state["fingertip_pos"] - state["scissors_right_handle_pos"].unsqueeze(1)
    left_tips = state["fingertip_another_pos"] - state["scissors_left_handle_pos"].unsqueeze(1)
    right_reach = torch.linalg.vector_norm(right_tips, dim=-1).mean(dim=-1)
    left_reach = torch.linalg.vector_norm(left_tips, dim=-1).mean(dim=-1)
    reach_reward = reach_weight * (torch.exp(-right_reach / reach_temp) + torch.exp(-left_reach / reach_temp))
    # Opening counts only with both hands at their loops (not by knocking the scissors about).
    near = ((right_reach < near_radius) & (left_reach < near_radius)).float()
    open_fraction = ((state["object_dof_pos"][:, 0] + 0.59) / 0.99).clamp(0.0, 1.0)
    open_reward = open_weight * near * open_fraction
    reward = reach_reward + open_reward
    return reward, {"reach_reward": reach_reward, "open_reward": open_reward}
''',
    "loop_separation": '''def compute_reward(state):
    # design: loop_separation
    palm_weight = 1.0  # tunable
    separation_weight = 10.0  # tunable
    right_palm = torch.linalg.vector_norm(state["right_hand_pos"] - state["scissors_right_handle_pos"], dim=-1)
    left_palm = torch.linalg.vector_norm(state["left_hand_pos"] - state["scissors_left_handle_pos"], dim=-1)
    palm_penalty = -palm_weight * (right_palm + left_palm)
    # The loops are about 0.18 m apart when the scissors are closed and move apart as they open.
    separation = torch.linalg.vector_norm(state["scissors_right_handle_pos"] - state["scissors_left_handle_pos"], dim=-1)
    separation_reward = separation_weight * (separation - 0.18).clamp(min=0.0)
    reward = palm_penalty + separation_reward
    return reward, {"palm_penalty": palm_penalty, "separation_reward": separation_reward}
''',
    "opening_velocity": '''def compute_reward(state):
    # design: opening_velocity
    reach_temp = 0.05  # tunable
    reach_weight = 1.0  # tunable
    velocity_weight = 0.5  # tunable
    success_bonus = 5.0  # tunable
    bonus_temp = 0.3  # tunable
    right_reach = torch.linalg.vector_norm(state["right_hand_pos"] - state["scissors_right_handle_pos"], dim=-1)
    left_reach = torch.linalg.vector_norm(state["left_hand_pos"] - state["scissors_left_handle_pos"], dim=-1)
    reach_reward = reach_weight * (torch.exp(-right_reach / reach_temp) + torch.exp(-left_reach / reach_temp))
    angle = state["object_dof_pos"][:, 0]
    velocity_reward = velocity_weight * state["object_dof_vel"][:, 0].clamp(-2.0, 2.0) * (angle < 0.35).float()
    # A bonus that grows as the hinge nears fully open (0.4 rad).
    success_reward = success_bonus * torch.exp(-(0.4 - angle).clamp(min=0.0) / bonus_temp)
    reward = reach_reward + velocity_reward + success_reward
    return reward, {"reach_reward": reach_reward, "velocity_reward": velocity_reward, "success_reward": success_reward}
''',
    "hooked_fingers": '''def compute_reward(state):
    # design: hooked_fingers
    hook_temp = 0.04  # tunable
    hook_weight = 1.0  # tunable
    pull_weight = 6.0  # tunable
    # Index and middle fingertips of each hand inside its loop.
    right_loop, left_loop = state["scissors_right_handle_pos"], state["scissors_left_handle_pos"]
    right_hook_dist = 0.5 * (torch.linalg.vector_norm(state["right_hand_ff_pos"] - right_loop, dim=-1)
                             + torch.linalg.vector_norm(state["right_hand_mf_pos"] - right_loop, dim=-1))
    left_hook_dist = 0.5 * (torch.linalg.vector_norm(state["left_hand_ff_pos"] - left_loop, dim=-1)
                            + torch.linalg.vector_norm(state["left_hand_mf_pos"] - left_loop, dim=-1))
    right_hook = torch.exp(-right_hook_dist / hook_temp)
    left_hook = torch.exp(-left_hook_dist / hook_temp)
    hook_reward = hook_weight * (right_hook + left_hook)
    open_fraction = ((state["object_dof_pos"][:, 0] + 0.59) / 0.99).clamp(0.0, 1.0)
    pull_reward = pull_weight * right_hook * left_hook * open_fraction
    reward = hook_reward + pull_reward
    return reward, {"hook_reward": hook_reward, "pull_reward": pull_reward}
''',
}
