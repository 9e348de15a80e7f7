def compute_progress(state):
    # 1) throw: the egg leaves the right palm; 2) catch: the egg reaches the goal above the left palm.
    leave_right = distance(state["object_pos"], state["right_hand_pos"])
    reach_goal = distance(state["object_pos"], state["goal_pos"])
    return [leave_right, reach_goal], [1, -1]
