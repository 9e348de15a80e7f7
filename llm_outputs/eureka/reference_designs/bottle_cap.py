"""ShadowHandBottleCap: the left hand keeps holding the bottle, the right hand pulls or twists the cap off.

2026-12-07: success bonuses no longer use the success test's thresholds, which the prompt does not state.
"""

TASKS = ("ShadowHandBottleCap",)

DESIGNS = {
    "cap_slide_progress": '''def compute_reward(state):
    # design: cap_slide_progress
    reach_temp = 0.1  # tunable
    hold_temp = 0.05  # tunable
    reach_weight = 1.0  # tunable
    hold_weight = 1.0  # tunable
    slide_weight = 5.0  # tunable
    right_tips = state["fingertip_pos"] - state["bottle_cap_pos"].unsqueeze(1)
    right_reach = torch.linalg.vector_norm(right_tips, dim=-1).mean(dim=-1)
    reach_reward = reach_weight * torch.exp(-right_reach / reach_temp)
    left_palm = torch.linalg.vector_norm(state["left_hand_pos"] - state["bottle_pos"], dim=-1)
    hold_reward = hold_weight * torch.exp(-left_palm / hold_temp)
    slide_reward = slide_weight * (state["object_dof_pos"][:, 0] / 0.064).clamp(0.0, 1.0)
    reward = reach_reward + hold_reward + slide_reward
    return reward, {"reach_reward": reach_reward, "hold_reward": hold_reward, "slide_reward": slide_reward}
''',
    "hold_and_pull": '''def compute_reward(state):
    # design: hold_and_pull
    hold_weight = 3.0  # tunable
    reach_weight = 1.0  # tunable
    open_weight = 30.0  # tunable
    drop_penalty = 5.0  # tunable
    left_palm = torch.linalg.vector_norm(state["left_hand_pos"] - state["bottle_pos"], dim=-1)
    hold_penalty = -hold_weight * left_palm
    right_reach = torch.linalg.vector_norm(state["right_hand_pos"] - state["bottle_cap_pos"], dim=-1)
    reach_penalty = -reach_weight * right_reach
    # How far the cap has come off the bottle, paid while the right hand is at the cap.
    opened = torch.linalg.vector_norm(state["bottle_cap_up"] - state["bottle_pos"], dim=-1)
    open_reward = open_weight * opened * (right_reach < 0.15).float()
    # The episode ends once the cap point drops below 0.5 m: penalise coming close to that.
    dropped = (state["bottle_cap_pos"][:, 2] < 0.52).float()
    drop_reward = -drop_penalty * dropped
    reward = hold_penalty + reach_penalty + open_reward + drop_reward
    return reward, {"hold_penalty": hold_penalty, "reach_penalty": reach_penalty, "open_reward": open_reward,
                    "drop_reward": drop_reward}
''',
    "twist_and_pull": '''def compute_reward(state):
    # design: twist_and_pull
    reach_weight = 2.0  # tunable
    twist_weight = 0.3  # tunable
    slide_weight = 4.0  # tunable
    hold_weight = 2.0  # tunable
    right_tips = state["fingertip_pos"] - state["bottle_cap_pos"].unsqueeze(1)
    reach_penalty = -reach_weight * torch.linalg.vector_norm(right_tips, dim=-1).mean(dim=-1)
    # Turning the cap about the bottle's axis loosens it; sliding it along the axis takes it off.
    twist_reward = twist_weight * (state["object_dof_pos"][:, 1].abs() / 3.14159).clamp(0.0, 1.0)
    slide_reward = slide_weight * (state["object_dof_pos"][:, 0] / 0.064).clamp(0.0, 1.0)
    left_tips = state["fingertip_another_pos"] - state["bottle_pos"].unsqueeze(1)
    hold_penalty = -hold_weight * torch.linalg.vector_norm(left_tips, dim=-1).mean(dim=-1)
    reward = reach_penalty + twist_reward + slide_reward + hold_penalty
    return reward, {"reach_penalty": reach_penalty, "twist_reward": twist_reward, "slide_reward": slide_reward,
                    "hold_penalty": hold_penalty}
''',
    "pinch_cap": '''def compute_reward(state):
    # design: pinch_cap
    pinch_temp = 0.05  # tunable
    hold_temp = 0.05  # tunable
    pinch_weight = 1.0  # tunable
    hold_weight = 1.0  # tunable
    success_bonus = 10.0  # tunable
    bonus_temp = 0.02  # tunable
    pinch = (torch.linalg.vector_norm(state["right_hand_th_pos"] - state["bottle_cap_pos"], dim=-1)
        + torch.linalg.vector_norm(state["right_hand_ff_pos"] - state["bottle_cap_pos"], dim=-1))
    pinch_reward = pinch_weight * torch.exp(-pinch / pinch_temp)
    left_palm = torch.linalg.vector_norm(state["left_hand_pos"] - state["bottle_pos"], dim=-1)
    hold_reward = hold_weight * torch.exp(-left_palm / hold_temp)
    opened = torch.linalg.vector_norm(state["bottle_cap_up"] - state["bottle_pos"], dim=-1)
    # A bonus that saturates as the cap comes off, paid while the bottle is held.
    success_reward = success_bonus * (1.0 - torch.exp(-opened / bonus_temp)) * hold_reward
    reward = pinch_reward + hold_reward + success_reward
    return reward, {"pinch_reward": pinch_reward, "hold_reward": hold_reward, "success_reward": success_reward}
''',
}
