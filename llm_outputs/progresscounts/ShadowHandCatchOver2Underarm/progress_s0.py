def compute_progress(state):
    # 1) release: the egg leaves the right hand; 2) catch: it reaches the goal at the left hand.
    release = distance(state["object_pos"], state["right_hand_pos"])
    catch = distance(state["object_pos"], state["goal_pos"])
    return [release, catch], [1, -1]
