def compute_progress(state):
    # 1) each hand's fingertips on its object; 2) cube and bucket brought together.
    reach = fingertips_distance(state["fingertip_pos"], state["block_right_handle_pos"]) + fingertips_distance(
        state["fingertip_another_pos"], state["block_left_handle_pos"])
    together = distance(state["block_right_handle_pos"], state["block_left_handle_pos"])
    return [reach, together], [-1, -1]
