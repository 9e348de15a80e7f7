def compute_progress(state):
    # 1) throw both (eggs rise above the palms), 2) both cross to the other side, 3) both fingers close on the caught eggs.
    rise = torch.minimum(height(state["object_pos"]) - height(state["right_hand_pos"]),
                         height(state["object_another_pos"]) - height(state["left_hand_pos"]))
    cross = distance(state["object_pos"], state["goal_pos"]) + distance(state["object_another_pos"], state["goal_another_pos"])
    catch = fingertips_distance(state["fingertip_another_pos"], state["object_pos"]) + fingertips_distance(
        state["fingertip_pos"], state["object_another_pos"])
    return [rise, cross, catch], [1, -1, -1]
