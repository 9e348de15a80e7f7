def compute_progress(state):
    # The worse of the two pushes decides: closest fingertip contact first, then the farther cube's distance to its goal.
    contact = torch.maximum(closest_fingertip_distance(state["fingertip_pos"], state["object_pos"]),
                            closest_fingertip_distance(state["fingertip_another_pos"], state["object_another_pos"]))
    worst = torch.maximum(distance(state["object_pos"], state["right_goal_pos"]),
                          distance(state["object_another_pos"], state["left_goal_pos"]))
    return [contact, worst], [-1, -1]
