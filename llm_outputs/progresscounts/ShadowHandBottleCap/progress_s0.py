def compute_progress(state):
    # 1) right fingertips on the cap while the left palm stays at the bottle; 2) the cap pulled off.
    reach = fingertips_distance(state["fingertip_pos"], state["bottle_cap_pos"]) + distance(
        state["left_hand_pos"], state["bottle_pos"])
    opened = distance(state["bottle_cap_up"], state["bottle_pos"])
    return [reach, opened], [-1, 1]
