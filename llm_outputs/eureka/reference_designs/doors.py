"""The four door tasks: one hand on each leaf's handle, open the closed door or close the open one.

The designs are the same for the four tasks up to where the leaves must end: the hinge angle (1.57 open, 0 closed)
and the gap between the two handles (about 0.77-0.93 m fully open, 0.07 m closed), filled in per task.

2026-12-07: success bonuses no longer use the success test's thresholds, which the prompt does not state.
"""

from string import Template

TASKS = ("ShadowHandDoorOpenInward", "ShadowHandDoorOpenOutward", "ShadowHandDoorCloseInward", "ShadowHandDoorCloseOutward")

DESIGNS = {
    "hinge_angle_tracking": '''def compute_reward(state):
    # design: hinge_angle_tracking
    reach_temp = 0.1  # tunable
    angle_temp = 0.5  # tunable
    reach_weight = 1.0  # tunable
    angle_weight = 2.0  # tunable
    target_angle = $target_angle  # hinge angle of a $door_state leaf, rad
    right_reach = torch.linalg.vector_norm(state["right_hand_pos"] - state["door_right_handle_pos"], dim=-1)
    left_reach = torch.linalg.vector_norm(state["left_hand_pos"] - state["door_left_handle_pos"], dim=-1)
    reach_reward = reach_weight * (torch.exp(-right_reach / reach_temp) + torch.exp(-left_reach / reach_temp))
    angle_error = (state["object_dof_pos"] - target_angle).abs().sum(dim=-1)
    angle_reward = angle_weight * torch.exp(-angle_error / angle_temp)
    reward = reach_reward + angle_reward
    return reward, {"reach_reward": reach_reward, "angle_reward": angle_reward}
''',
    "handle_gap_gated": '''def compute_reward(state):
    # design: handle_gap_gated
    reach_weight = 1.0  # tunable
    gap_temp = 0.2  # tunable
    gap_weight = 3.0  # tunable
    near_radius = 0.1  # tunable
    target_gap = $target_gap  # distance across y between the two handles when the door is $door_state, m
    right_tips = state["fingertip_pos"] - state["door_right_handle_pos"].unsqueeze(1)
    left_tips = state["fingertip_another_pos"] - state["door_left_handle_pos"].unsqueeze(1)
    right_reach = torch.linalg.vector_norm(right_tips, dim=-1).mean(dim=-1)
    left_reach = torch.linalg.vector_norm(left_tips, dim=-1).mean(dim=-1)
    reach_penalty = -reach_weight * (right_reach + left_reach)
    # The leaves only count once both hands hold their handles.
    holding = ((right_reach < near_radius) & (left_reach < near_radius)).float()
    gap = (state["door_right_handle_pos"][:, 1] - state["door_left_handle_pos"][:, 1]).abs()
    gap_reward = gap_weight * holding * torch.exp(-(gap - target_gap).abs() / gap_temp)
    reward = reach_penalty + gap_reward
    return reward, {"reach_penalty": reach_penalty, "gap_reward": gap_reward}
''',
    "hinge_velocity": '''def compute_reward(state):
    # design: hinge_velocity
    reach_weight = 2.0  # tunable
    velocity_weight = 0.5  # tunable
    progress_weight = 2.0  # tunable
    target_angle = $target_angle  # hinge angle of a $door_state leaf, rad
    right_reach = torch.linalg.vector_norm(state["right_hand_pos"] - state["door_right_handle_pos"], dim=-1)
    left_reach = torch.linalg.vector_norm(state["left_hand_pos"] - state["door_left_handle_pos"], dim=-1)
    reach_penalty = -reach_weight * (right_reach + left_reach)
    to_target = target_angle - state["object_dof_pos"]
    # Hinge speed in the direction of the target, zero once a leaf is there.
    speed = (torch.sign(to_target) * state["object_dof_vel"]).clamp(-2.0, 2.0) * (to_target.abs() > 0.05).float()
    velocity_reward = velocity_weight * speed.sum(dim=-1)
    progress_reward = progress_weight * (1.0 - to_target.abs() / 1.57).clamp(0.0, 1.0).mean(dim=-1)
    reward = reach_penalty + velocity_reward + progress_reward
    return reward, {"reach_penalty": reach_penalty, "velocity_reward": velocity_reward, "progress_reward": progress_reward}
''',
    "grip_then_swing": '''def compute_reward(state):
    # design: grip_then_swing
    grip_temp = 0.08  # tunable
    grip_weight = 0.5  # tunable
    swing_weight = 3.0  # tunable
    success_bonus = 5.0  # tunable
    bonus_temp = 0.2  # tunable
    target_angle = $target_angle  # hinge angle of a $door_state leaf, rad
    right_tips = state["fingertip_pos"] - state["door_right_handle_pos"].unsqueeze(1)
    left_tips = state["fingertip_another_pos"] - state["door_left_handle_pos"].unsqueeze(1)
    right_grip = torch.exp(-torch.linalg.vector_norm(right_tips, dim=-1).mean(dim=-1) / grip_temp)
    left_grip = torch.exp(-torch.linalg.vector_norm(left_tips, dim=-1).mean(dim=-1) / grip_temp)
    grip_reward = grip_weight * (right_grip + left_grip)
    angle_error = (state["object_dof_pos"] - target_angle).abs()
    progress = (1.0 - angle_error / 1.57).clamp(0.0, 1.0)
    # A leaf's progress is paid in proportion to how firmly its hand holds the handle.
    swing_reward = swing_weight * (right_grip * progress[:, 0] + left_grip * progress[:, 1])
    # A bonus that grows sharply as both leaves reach the target angle.
    success_reward = success_bonus * torch.exp(-angle_error.sum(dim=-1) / bonus_temp)
    reward = grip_reward + swing_reward + success_reward
    return reward, {"grip_reward": grip_reward, "swing_reward": swing_reward, "success_reward": success_reward}
''',
}


def designs(task: str) -> dict[str, str]:
    closing = "Close" in task
    values = {"target_angle": "0.0" if closing else "1.57", "target_gap": "0.07" if closing else "0.8",
              "door_state": "closed" if closing else "fully open"}
    return {name: Template(code).substitute(values) for name, code in DESIGNS.items()}
