def compute_progress(state):
    # 1) bring both hands' fingertips onto their toggles; 2) press both toggles down.
    reach = fingertips_distance(state["fingertip_pos"], state["switch_right_handle_pos"]) + fingertips_distance(
        state["fingertip_another_pos"], state["switch_left_handle_pos"])
    press = height(state["switch_right_handle_pos"]) + height(state["switch_left_handle_pos"])
    return [reach, press], [-1, -1]
