def compute_progress(state):
    # One egg at a time: the right hand's egg reaches its goal, then the left hand's egg reaches its goal.
    first = distance(state["object_pos"], state["goal_pos"])
    second = distance(state["object_another_pos"], state["goal_another_pos"])
    return [first, second], [-1, -1]
