def compute_progress(state):
    # 1) fingertips at both handles, 2) the mug turned towards the goal orientation.
    grasp = fingertips_distance(state["fingertip_pos"], state["cup_right_handle_pos"]) + fingertips_distance(
        state["fingertip_another_pos"], state["cup_left_handle_pos"])
    turn = rotation_distance(state["object_rot"], state["goal_rot"])
    return [grasp, turn], [-1, -1]
