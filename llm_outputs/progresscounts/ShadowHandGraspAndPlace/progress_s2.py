def compute_progress(state):
    # 1) the left hand grasps the cube, 2) the cube is lifted off the table, 3) it is carried to the bucket.
    grasp = fingertips_distance(state["fingertip_another_pos"], state["block_left_handle_pos"])
    lift = height(state["block_left_handle_pos"])
    carry = distance(state["block_left_handle_pos"], state["block_right_handle_pos"])
    return [grasp, lift, carry], [-1, 1, -1]
