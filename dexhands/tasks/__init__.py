"""Task registry: name -> TaskConfig."""

from dexhands.tasks.base import TaskConfig
from dexhands.tasks.blocks import BLOCK_TASKS
from dexhands.tasks.bottle_cap import BOTTLE_CAP
from dexhands.tasks.doors import DOOR_TASKS
from dexhands.tasks.grasp_and_place import GRASP_AND_PLACE
from dexhands.tasks.kettle import KETTLE
from dexhands.tasks.lift_underarm import LIFT_UNDERARM
from dexhands.tasks.pen import PEN
from dexhands.tasks.reorientation import RE_ORIENTATION
from dexhands.tasks.scissors import SCISSORS
from dexhands.tasks.swing_cup import SWING_CUP
from dexhands.tasks.switch import ARTICULATED_TASKS
from dexhands.tasks.throwing import THROWING_TASKS

TASK_CONFIGS: dict[str, TaskConfig] = {
    task.name: task
    for task in (*THROWING_TASKS, *ARTICULATED_TASKS, *DOOR_TASKS, *BLOCK_TASKS, RE_ORIENTATION, SCISSORS, PEN,
                 BOTTLE_CAP, GRASP_AND_PLACE, KETTLE, LIFT_UNDERARM, SWING_CUP)
}

__all__ = ["TASK_CONFIGS", "TaskConfig"]
