def compute_progress(state):
    # 1) both palms at their handles, 2) the pot raised off the table.
    reach = distance(state["right_hand_pos"], state["pot_right_handle_pos"]) + distance(
        state["left_hand_pos"], state["pot_left_handle_pos"])
    lift = height(state["object_pos"])
    return [reach, lift], [-1, 1]
