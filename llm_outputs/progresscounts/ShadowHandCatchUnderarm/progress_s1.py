def compute_progress(state):
    # 1) bring the left palm under the egg's path; 2) bring the egg to the goal.
    receive = horizontal_distance(state["left_hand_pos"], state["object_pos"])
    deliver = distance(state["object_pos"], state["goal_pos"])
    return [receive, deliver], [-1, -1]
