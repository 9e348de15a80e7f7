def compute_progress(state):
    # 1) right fingertips on the kettle's handle and left fingertips at the bucket; 2) spout brought to the bucket.
    reach = fingertips_distance(state["fingertip_pos"], state["kettle_handle_pos"]) + fingertips_distance(
        state["fingertip_another_pos"], state["bucket_handle_pos"])
    pour = distance(state["kettle_spout_pos"], state["bucket_handle_pos"])
    return [reach, pour], [-1, -1]
