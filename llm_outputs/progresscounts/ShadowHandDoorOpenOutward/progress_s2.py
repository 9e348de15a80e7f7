def compute_progress(state):
    # 1) palms at the handles, 2) fingertips closed on them, 3) the less-open leaf opens as well.
    reach = distance(state["right_hand_pos"], state["door_right_handle_pos"]) + distance(
        state["left_hand_pos"], state["door_left_handle_pos"])
    grasp = fingertips_distance(state["fingertip_pos"], state["door_right_handle_pos"]) + fingertips_distance(
        state["fingertip_another_pos"], state["door_left_handle_pos"])
    weakest = torch.minimum(state["object_dof_pos"][:, 0], state["object_dof_pos"][:, 1])
    return [reach, grasp, weakest], [-1, -1, 1]
