def compute_progress(state):
    # 1) palms next to the handles, 2) fingers closed on them, 3) mug turned to the goal.
    palms = distance(state["right_hand_pos"], state["cup_right_handle_pos"]) + distance(
        state["left_hand_pos"], state["cup_left_handle_pos"])
    fingers = fingertips_distance(state["fingertip_pos"], state["cup_right_handle_pos"]) + fingertips_distance(
        state["fingertip_another_pos"], state["cup_left_handle_pos"])
    turn = rotation_distance(state["object_rot"], state["goal_rot"])
    return [palms, fingers, turn], [-1, -1, -1]
