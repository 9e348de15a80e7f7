"""dexhands: Bi-DexHands tasks re-modelled in MuJoCo, batched, with torch tensors in and out.

    env = dexhands.make("ShadowHandOver", num_envs=256)
    obs = env.reset()
    obs, reward, terminated, truncated, info = env.step(actions)

The two hands are the OpenAI Shadow Hand MJCF read from the installed `gymnasium-robotics` package
(never copied here). That model is under the Apache-2.0 licence: see
`gymnasium_robotics/envs/assets/LICENSE.md` (`dexhands.assets.licence_file()`), which must stay with it.
"""

from __future__ import annotations

import os

# MuJoCo picks its OpenGL backend at import: offscreen EGL on headless machines (only used for rendering).
if "MUJOCO_GL" not in os.environ and not os.environ.get("DISPLAY"):
    os.environ["MUJOCO_GL"] = "egl"

import torch  # noqa: E402

from dexhands.tasks import TASK_CONFIGS  # noqa: E402

TASKS: tuple[str, ...] = tuple(TASK_CONFIGS)
BACKENDS = ("auto", "mujoco", "warp")


def make(task: str, num_envs: int, device: str | torch.device = "cpu", backend: str = "auto", seed: int = 0,
         num_threads: int | None = None):
    """Build `num_envs` copies of `task` (one of `TASKS`) on `backend`.

    "mujoco": C MuJoCo on every CPU core (`num_threads`), tensors moved to `device`. "warp": MuJoCo Warp on
    `device` (a CUDA device; on "cpu" it runs too, single-threaded and several times slower than "mujoco":
    for tests). "auto": "mujoco" for now: the Warp backend has passed its equivalence tests on CPU only, so
    it is used when asked for by name until it has been validated on a GPU.
    """
    if task not in TASK_CONFIGS:
        raise ValueError(f"unknown dexhands task {task!r}; available tasks: {', '.join(TASKS)}")
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if num_envs < 1:
        raise ValueError(f"num_envs must be at least 1, got {num_envs}")
    if backend == "auto":
        backend = "mujoco"
    from dexhands.env import DexHandsEnv

    try:
        return DexHandsEnv(TASK_CONFIGS[task], num_envs, device=device, seed=seed, num_threads=num_threads,
                           backend=backend)
    except NotImplementedError as e:
        raise NotImplementedError(f"{task} cannot run on backend {backend!r}: {e}") from e


__all__ = ["TASKS", "make"]
