def compute_progress(state):
    # Toss, then catch: height gained above the right palm while the egg is still near it, then distance to the goal.
    near_right = distance(state["object_pos"], state["right_hand_pos"]) < 0.2
    toss = torch.where(near_right, height(state["object_pos"]) - height(state["right_hand_pos"]), torch.ones_like(state["object_pos"][:, 2]))
    catch = distance(state["object_pos"], state["goal_pos"])
    return [toss, catch], [1, -1]
