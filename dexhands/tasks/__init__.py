"""Task registry: name -> TaskConfig."""

from dexhands.tasks.base import TaskConfig
from dexhands.tasks.throwing import THROWING_TASKS

TASK_CONFIGS: dict[str, TaskConfig] = {task.name: task for task in THROWING_TASKS}

__all__ = ["TASK_CONFIGS", "TaskConfig"]
