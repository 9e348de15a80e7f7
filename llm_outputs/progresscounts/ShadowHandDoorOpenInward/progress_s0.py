def compute_progress(state):
    # 1) both hands grasp their handles; 2) the handles move apart as the leaves open.
    grasp = fingertips_distance(state["fingertip_pos"], state["door_right_handle_pos"]) + fingertips_distance(
        state["fingertip_another_pos"], state["door_left_handle_pos"])
    gap = (state["door_right_handle_pos"][:, 1] - state["door_left_handle_pos"][:, 1]).abs()
    return [grasp, gap], [-1, 1]
