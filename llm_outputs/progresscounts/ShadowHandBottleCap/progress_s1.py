def compute_progress(state):
    # 1) keep the bottle up, 2) pinch the cap (closest right fingertip), 3) slide the cap off.
    upright = height(state["bottle_cap_pos"])
    pinch = closest_fingertip_distance(state["fingertip_pos"], state["bottle_cap_pos"])
    opened = state["object_dof_pos"][:, 0]
    return [upright, pinch, opened], [1, -1, 1]
