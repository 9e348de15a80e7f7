def compute_progress(state):
    # The hand farther from its handle decides the grasp; then the angle the right handle has swept round the
    # mug's axis (it starts pointing along +y, i.e. at pi/2; half a turn is the goal), either way round.
    grasp = torch.maximum(fingertips_distance(state["fingertip_pos"], state["cup_right_handle_pos"]),
                          fingertips_distance(state["fingertip_another_pos"], state["cup_left_handle_pos"]))
    arm = state["cup_right_handle_pos"] - state["object_pos"]
    heading = torch.atan2(arm[:, 1], arm[:, 0]) - math.pi / 2
    swept = torch.atan2(torch.sin(heading), torch.cos(heading)).abs()
    return [grasp, swept], [-1, 1]
