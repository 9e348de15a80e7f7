"""ShadowHandBlockStack: the right block goes to the table centre, the left block on top of it.

2026-12-07: success bonuses no longer use the success test's thresholds, which the prompt does not state.
"""

TASKS = ("ShadowHandBlockStack",)

DESIGNS = {
    "stack_targets_exp": '''def compute_reward(state):
    # design: stack_targets_exp
    reach_temp = 0.1  # tunable
    target_temp = 0.05  # tunable
    reach_weight = 0.5  # tunable
    target_weight = 2.0  # tunable
    success_bonus = 10.0  # tunable
    bonus_temp = 0.02  # tunable
    right_tips = state["fingertip_pos"] - state["block_right_handle_pos"].unsqueeze(1)
    left_tips = state["fingertip_another_pos"] - state["block_left_handle_pos"].unsqueeze(1)
    right_reach = torch.linalg.vector_norm(right_tips, dim=-1).mean(dim=-1)
    left_reach = torch.linalg.vector_norm(left_tips, dim=-1).mean(dim=-1)
    reach_reward = reach_weight * (torch.exp(-right_reach / reach_temp) + torch.exp(-left_reach / reach_temp))
    bottom_dist = torch.linalg.vector_norm(state["object_pos"] - state["stack_bottom_pos"], dim=-1)
    top_dist = torch.linalg.vector_norm(state["object_another_pos"] - state["stack_top_pos"], dim=-1)
    target_reward = target_weight * (torch.exp(-bottom_dist / target_temp) + torch.exp(-top_dist / target_temp))
    # A sharp bonus for both blocks at their targets at once.
    success_reward = success_bonus * torch.exp(-(bottom_dist + top_dist) / bonus_temp)
    reward = reach_reward + target_reward + success_reward
    return reward, {"reach_reward": reach_reward, "target_reward": target_reward, "success_reward": success_reward}
''',
    "lift_and_align": '''def compute_reward(state):
    # design: lift_and_align
    bottom_weight = 3.0  # tunable
    lift_weight = 10.0  # tunable
    align_temp = 0.05  # tunable
    align_weight = 2.0  # tunable
    grasp_weight = 1.0  # tunable
    bottom_penalty = -bottom_weight * torch.linalg.vector_norm(state["object_pos"] - state["stack_bottom_pos"], dim=-1)
    # The left block must rise one block height (0.05 m) above the table and come over the right block.
    lift = (state["object_another_pos"][:, 2] - state["stack_bottom_pos"][:, 2]).clamp(0.0, 0.06)
    lift_reward = lift_weight * lift
    horizontal = torch.linalg.vector_norm(state["object_another_pos"][:, :2] - state["object_pos"][:, :2], dim=-1)
    align_reward = align_weight * torch.exp(-horizontal / align_temp)
    left_grasp = torch.linalg.vector_norm(state["left_hand_pos"] - state["object_another_pos"], dim=-1)
    right_push = torch.linalg.vector_norm(state["right_hand_pos"] - state["object_pos"], dim=-1)
    grasp_penalty = -grasp_weight * (left_grasp + right_push)
    reward = bottom_penalty + lift_reward + align_reward + grasp_penalty
    return reward, {"bottom_penalty": bottom_penalty, "lift_reward": lift_reward, "align_reward": align_reward,
                    "grasp_penalty": grasp_penalty}
''',
    "staged_stack": '''def compute_reward(state):
    # design: staged_stack
    stage_temp = 0.05  # tunable
    reach_weight = 1.0  # tunable
    first_weight = 2.0  # tunable
    second_weight = 4.0  # tunable
    right_reach = torch.linalg.vector_norm(state["right_hand_pos"] - state["object_pos"], dim=-1)
    left_reach = torch.linalg.vector_norm(state["left_hand_pos"] - state["object_another_pos"], dim=-1)
    reach_penalty = -reach_weight * (right_reach + left_reach)
    # Stage 1: the right block at the table centre. Stage 2, in proportion to how well stage 1 holds: the left block
    # on top.
    bottom_dist = torch.linalg.vector_norm(state["object_pos"] - state["stack_bottom_pos"], dim=-1)
    base_ready = torch.exp(-bottom_dist / stage_temp)
    first_stage = first_weight * base_ready
    top_dist = torch.linalg.vector_norm(state["object_another_pos"] - state["stack_top_pos"], dim=-1)
    second_stage = second_weight * base_ready * torch.exp(-top_dist / stage_temp)
    reward = reach_penalty + first_stage + second_stage
    return reward, {"reach_penalty": reach_penalty, "first_stage": first_stage, "second_stage": second_stage}
''',
    "relative_offset": '''def compute_reward(state):
    # design: relative_offset
    grasp_temp = 0.1  # tunable
    offset_temp = 0.05  # tunable
    grasp_weight = 0.5  # tunable
    offset_weight = 3.0  # tunable
    bottom_weight = 2.0  # tunable
    left_tips = state["fingertip_another_pos"] - state["object_another_pos"].unsqueeze(1)
    right_tips = state["fingertip_pos"] - state["object_pos"].unsqueeze(1)
    left_grasp = torch.linalg.vector_norm(left_tips, dim=-1).mean(dim=-1)
    right_grasp = torch.linalg.vector_norm(right_tips, dim=-1).mean(dim=-1)
    grasp_reward = grasp_weight * (torch.exp(-left_grasp / grasp_temp) + torch.exp(-right_grasp / grasp_temp))
    # Stacked: the left block directly above the right one, one block height (0.05 m) higher.
    horizontal = torch.linalg.vector_norm(state["object_another_pos"][:, :2] - state["object_pos"][:, :2], dim=-1)
    vertical = (state["object_another_pos"][:, 2] - state["object_pos"][:, 2] - 0.05).abs()
    offset_reward = offset_weight * torch.exp(-(horizontal + vertical) / offset_temp)
    bottom_penalty = -bottom_weight * torch.linalg.vector_norm(state["object_pos"] - state["stack_bottom_pos"], dim=-1)
    reward = grasp_reward + offset_reward + bottom_penalty
    return reward, {"grasp_reward": grasp_reward, "offset_reward": offset_reward, "bottom_penalty": bottom_penalty}
''',
}
