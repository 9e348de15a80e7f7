"""Hand-written Eureka reward designs, one module per dexhands task family (read by make_reference_transcripts.py).

A family module names the tasks it serves in `TASKS` and gives its designs as `DESIGNS = {name: code}`, or as a
function `designs(task) -> {name: code}` when the tasks of the family differ in a constant (the doors: open or
close). Each code is a complete `compute_reward(state)` answer that uses only the state keys of its tasks; it says
`# design: <name>` on its first line, and the weights and temperatures that later search iterations rescale sit on
lines `name = number  # tunable`. Three or four distinct designs per family: the search cycles through them.

Adding a task: add it to a family's TASKS, or write a new module here with TASKS and DESIGNS, then run
`python llm_outputs/eureka/make_reference_transcripts.py` (it generates every task that has no transcript yet).
"""

import importlib
import pkgutil

FAMILIES = [importlib.import_module(f"{__name__}.{info.name}") for info in pkgutil.iter_modules(__path__)]


def designs_for(task: str) -> dict[str, str]:
    """The designs of `task`'s family, in the order the search hands them out."""
    for family in FAMILIES:
        if task in family.TASKS:
            return family.designs(task) if hasattr(family, "designs") else dict(family.DESIGNS)
    raise KeyError(f"no reference reward designs for {task}: add it to a family's TASKS in reference_designs/ "
                   "or write a module for it there")


def supported_tasks() -> list[str]:
    tasks = [task for family in FAMILIES for task in family.TASKS]
    twice = {task for task in tasks if tasks.count(task) > 1}
    if twice:
        raise ValueError(f"tasks claimed by more than one family in reference_designs/: {sorted(twice)}")
    return tasks
