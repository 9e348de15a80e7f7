def compute_progress(state):
    # Right switch first, then the left one: each sub-task is its hand's distance plus the toggle's height.
    right = closest_fingertip_distance(state["fingertip_pos"], state["switch_right_handle_pos"]) + \
        10.0 * height(state["switch_right_handle_pos"])
    left = closest_fingertip_distance(state["fingertip_another_pos"], state["switch_left_handle_pos"]) + \
        10.0 * height(state["switch_left_handle_pos"])
    return [right, left], [-1, -1]
