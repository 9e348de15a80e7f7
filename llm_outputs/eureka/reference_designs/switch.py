"""ShadowHandSwitch: each hand presses down the toggle of the switch below it (hinge 0 -> 0.5585 rad).

2026-12-07: success bonuses no longer use the success test's thresholds, which the prompt does not state.
"""

TASKS = ("ShadowHandSwitch",)

DESIGNS = {
    "reach_and_press": '''def compute_reward(state):
    # design: reach_and_press
    reach_temp = 0.1  # tunable
    reach_weight = 1.0  # tunable
    press_weight = 4.0  # tunable
    right_tips = state["fingertip_pos"] - state["switch_right_handle_pos"].unsqueeze(1)
    left_tips = state["fingertip_another_pos"] - state["switch_left_handle_pos"].unsqueeze(1)
    right_reach = torch.linalg.vector_norm(right_tips, dim=-1).mean(dim=-1)
    left_reach = torch.linalg.vector_norm(left_tips, dim=-1).mean(dim=-1)
    reach_reward = reach_weight * (torch.exp(-right_reach / reach_temp) + torch.exp(-left_reach / reach_temp))
    pressed_fraction = (state["object_dof_pos"] / 0.5585).clamp(0.0, 1.0)
    press_reward = press_weight * pressed_fraction.sum(dim=-1)
    reward = reach_reward + press_reward
    return reward, {"reach_reward": reach_reward, "press_reward": press_reward}
''',
    "handle_height_drop": '''def compute_reward(state):
    # design: handle_height_drop
    drop_weight = 30.0  # tunable
    palm_weight = 1.0  # tunable
    # The toggle point sits about 0.71 m high unpressed and about 0.68 m fully pressed.
    right_drop = (0.71 - state["switch_right_handle_pos"][:, 2]).clamp(min=0.0)
    left_drop = (0.71 - state["switch_left_handle_pos"][:, 2]).clamp(min=0.0)
    drop_reward = drop_weight * (right_drop + left_drop)
    right_palm = torch.linalg.vector_norm(state["right_hand_pos"] - state["switch_right_handle_pos"], dim=-1)
    left_palm = torch.linalg.vector_norm(state["left_hand_pos"] - state["switch_left_handle_pos"], dim=-1)
    palm_penalty = -palm_weight * (right_palm + left_palm)
    reward = drop_reward + palm_penalty
    return reward, {"drop_reward": drop_reward, "palm_penalty": palm_penalty}
''',
    "both_switches_gate": '''def compute_reward(state):
    # design: both_switches_gate
    reach_weight = 2.0  # tunable
    progress_weight = 5.0  # tunable
    success_bonus = 10.0  # tunable
    bonus_temp = 0.1  # tunable
    right_reach = torch.linalg.vector_norm(state["right_hand_ff_pos"] - state["switch_right_handle_pos"], dim=-1)
    left_reach = torch.linalg.vector_norm(state["left_hand_ff_pos"] - state["switch_left_handle_pos"], dim=-1)
    reach_penalty = -reach_weight * (right_reach + left_reach)
    # Only the less pressed switch counts: pressing one switch alone earns nothing more.
    pressed_fraction = (state["object_dof_pos"] / 0.5585).clamp(0.0, 1.0)
    progress_reward = progress_weight * pressed_fraction.min(dim=-1).values
    # A bonus that grows sharply as both toggles near the end of their travel.
    success_reward = success_bonus * torch.exp(-(1.0 - pressed_fraction).sum(dim=-1) / bonus_temp)
    reward = reach_penalty + progress_reward + success_reward
    return reward, {"reach_penalty": reach_penalty, "progress_reward": progress_reward, "success_reward": success_reward}
''',
    "index_finger_push": '''def compute_reward(state):
    # design: index_finger_push
    finger_temp = 0.05  # tunable
    finger_weight = 1.0  # tunable
    push_weight = 0.5  # tunable
    angle_weight = 3.0  # tunable
    right_finger = torch.linalg.vector_norm(state["right_hand_ff_pos"] - state["switch_right_handle_pos"], dim=-1)
    left_finger = torch.linalg.vector_norm(state["left_hand_ff_pos"] - state["switch_left_handle_pos"], dim=-1)
    right_touch = torch.exp(-right_finger / finger_temp)
    left_touch = torch.exp(-left_finger / finger_temp)
    finger_reward = finger_weight * (right_touch + left_touch)
    # Pressing speed counts only while the index finger is on the toggle.
    touch = torch.stack([right_touch, left_touch], dim=-1)
    push_reward = push_weight * (state["object_dof_vel"].clamp(0.0, 2.0) * touch).sum(dim=-1)
    angle_reward = angle_weight * (state["object_dof_pos"] / 0.5585).clamp(0.0, 1.0).mean(dim=-1)
    reward = finger_reward + push_reward + angle_reward
    return reward, {"finger_reward": finger_reward, "push_reward": push_reward, "angle_reward": angle_reward}
''',
}
