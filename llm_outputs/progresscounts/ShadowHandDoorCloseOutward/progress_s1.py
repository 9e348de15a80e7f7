def compute_progress(state):
    # Reach the handles with the palms, then close both leaves (hinge angles shrink to 0).
    reach = distance(state["right_hand_pos"], state["door_right_handle_pos"]) + distance(
        state["left_hand_pos"], state["door_left_handle_pos"])
    still_open = state["object_dof_pos"].sum(dim=-1)
    return [reach, still_open], [-1, -1]
