def compute_progress(state):
    # 1) left fingertips wrapped round the bottle, 2) right fingertips round the cap, 3) cap moved off the bottle.
    hold = fingertips_distance(state["fingertip_another_pos"], state["bottle_pos"])
    grasp = fingertips_distance(state["fingertip_pos"], state["bottle_cap_pos"])
    opened = distance(state["bottle_cap_up"], state["bottle_pos"])
    return [hold, grasp, opened], [-1, -1, 1]
