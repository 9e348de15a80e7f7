def compute_progress(state):
    # Reach the handles with the palms, then open both leaves (hinge angles grow to 1.57 rad).
    reach = distance(state["right_hand_pos"], state["door_right_handle_pos"]) + distance(
        state["left_hand_pos"], state["door_left_handle_pos"])
    opened = state["object_dof_pos"].sum(dim=-1)
    return [reach, opened], [-1, 1]
