def compute_progress(state):
    # Place the bottom cube, lift the top cube, then put it on the stack.
    bottom = distance(state["object_pos"], state["stack_bottom_pos"])
    lift = height(state["object_another_pos"])
    stack = horizontal_distance(state["object_another_pos"], state["object_pos"])
    return [bottom, lift, stack], [-1, 1, -1]
