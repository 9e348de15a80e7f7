def compute_progress(state):
    # 1) the right hand grasps the handle, 2) the kettle is lifted off the table, 3) the spout goes to the bucket.
    grasp = fingertips_distance(state["fingertip_pos"], state["kettle_handle_pos"])
    lift = height(state["object_pos"])
    pour = distance(state["kettle_spout_pos"], state["bucket_handle_pos"])
    return [grasp, lift, pour], [-1, 1, -1]
