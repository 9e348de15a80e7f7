def compute_progress(state):
    # Close the right leaf, then the left: each sub-task is its hand's reach plus how far its handle is from the middle.
    right = closest_fingertip_distance(state["fingertip_pos"], state["door_right_handle_pos"]) + \
        state["door_right_handle_pos"][:, 1].abs()
    left = closest_fingertip_distance(state["fingertip_another_pos"], state["door_left_handle_pos"]) + \
        state["door_left_handle_pos"][:, 1].abs()
    return [right, left], [-1, -1]
