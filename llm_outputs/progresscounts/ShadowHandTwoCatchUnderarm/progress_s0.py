def compute_progress(state):
    # Both eggs must swap hands: first both leave their starting hands, then both reach their goals.
    release = torch.minimum(distance(state["object_pos"], state["right_hand_pos"]),
                            distance(state["object_another_pos"], state["left_hand_pos"]))
    catch = distance(state["object_pos"], state["goal_pos"]) + distance(state["object_another_pos"], state["goal_another_pos"])
    return [release, catch], [1, -1]
