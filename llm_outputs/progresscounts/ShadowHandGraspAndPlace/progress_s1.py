def compute_progress(state):
    # Only the gap matters: first across the table (horizontal), then the height of the cube over the bucket.
    gap = horizontal_distance(state["block_left_handle_pos"], state["block_right_handle_pos"])
    above = height(state["block_left_handle_pos"]) - height(state["block_right_handle_pos"])
    return [gap, above], [-1, 1]
