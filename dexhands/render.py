"""Offscreen pictures and short random-action clips of a task.

    MUJOCO_GL=egl python -m dexhands.render --task ShadowHandOver --out over.png
    MUJOCO_GL=egl python -m dexhands.render --task ShadowHandOver --video over.gif --steps 75

Headless machines need MUJOCO_GL=egl (or osmesa); importing dexhands sets egl when no display is present.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np
import torch
import tyro

import dexhands
from dexhands.batch import STATE_SPEC
from dexhands.rotations import xyzw_to_wxyz


def render_env(env, renderer: mujoco.Renderer, data: mujoco.MjData, row: int = 0, camera: str = "overview") -> np.ndarray:
    """RGB image of env `row`, goal markers included."""
    mujoco.mj_setState(env.scene.model, data, env.sim.state[row], STATE_SPEC)
    for k, mocap in enumerate(env.scene.goal_mocap):
        data.mocap_pos[mocap] = env.goal_pos[row, k].cpu().numpy()
        data.mocap_quat[mocap] = xyzw_to_wxyz(env.goal_rot[row, k]).cpu().numpy()
    mujoco.mj_forward(env.scene.model, data)
    renderer.update_scene(data, camera=camera)
    return renderer.render()


@dataclass
class Args:
    task: str = "ShadowHandOver"
    """task name (see dexhands.TASKS)"""
    out: str | None = None
    """PNG of the first state after reset"""
    video: str | None = None
    """GIF (or MP4 when an ffmpeg backend for imageio is installed) of a rollout with random actions"""
    steps: int = 75
    """policy steps in the video (60 per second)"""
    width: int = 640
    height: int = 480
    seed: int = 0


def main(args: Args) -> None:
    import imageio.v2 as imageio

    env = dexhands.make(args.task, num_envs=1, seed=args.seed, num_threads=1)
    env.reset()
    renderer = mujoco.Renderer(env.scene.model, args.height, args.width)
    data = mujoco.MjData(env.scene.model)
    if args.out:
        imageio.imwrite(args.out, render_env(env, renderer, data))
        print(f"wrote {args.out}")
    if args.video:
        generator = torch.Generator().manual_seed(args.seed)
        frames = [render_env(env, renderer, data)]
        for _ in range(args.steps):
            env.step(torch.rand(1, env.act_dim, generator=generator) * 2 - 1)
            frames.append(render_env(env, renderer, data))
        if args.video.endswith(".gif"):
            imageio.mimsave(args.video, frames[::2], duration=2 / 60, loop=0)  # every other frame: 30 fps
        else:
            imageio.mimsave(args.video, frames, fps=60)
        print(f"wrote {args.video} ({len(frames)} frames)")
    renderer.close()
    env.close()


if __name__ == "__main__":
    main(tyro.cli(Args))
