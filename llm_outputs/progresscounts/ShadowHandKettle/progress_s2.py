def compute_progress(state):
    # Only the spout matters: first over the bucket (horizontally), then down towards the bucket's bottom.
    over = horizontal_distance(state["kettle_spout_pos"], state["bucket_handle_pos"])
    down = height(state["kettle_spout_pos"]) - height(state["bucket_handle_pos"])
    return [over, down], [-1, -1]
