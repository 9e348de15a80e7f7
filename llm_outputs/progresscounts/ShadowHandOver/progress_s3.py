def compute_progress(state):
    # 1) toss the egg upward out of the right palm, 2) move it to the goal, 3) keep it still there.
    lift = height(state["object_pos"]) - height(state["right_hand_pos"])
    to_goal = distance(state["object_pos"], state["goal_pos"])
    speed = torch.linalg.vector_norm(state["object_linvel"], dim=-1)
    still_at_goal = speed + 10.0 * to_goal
    return [lift, to_goal, still_at_goal], [1, -1, -1]
