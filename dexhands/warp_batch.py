"""Batched stepping with MuJoCo Warp: every env is a world of one `mujoco_warp` Data, on a GPU (or on the CPU).

The same model as the CPU backend (`dexhands.batch`), the same step (`substeps` physics steps with `ctrl` and
`qfrc_applied` held) and the same sensor timing (sensors are evaluated before integration, so frame sensors
lag the state by one physics step). The arrays stay where Warp put them: `buffers()` are zero-copy torch views
(`wp.to_torch`), so a step moves nothing through the host. On CUDA each step is one captured CUDA graph.

Options Warp needs, none of which changes the task:
- contact and constraint buffers are fixed-size: `nconmax` contacts per world on average (pooled over the
  worlds) and `njmax` constraint rows per world. The defaults are the sizes the Shadow Hand MJCF declares for
  C MuJoCo (nconmax 100, njmax 500), rounded up; C MuJoCo with random actions peaks at 37 contacts and
  185 rows (ShadowHandGraspAndPlace). An overflow drops contacts, so it is an error (checked every
  `check_every` steps: one host sync), naming the size to raise.
- solver iteration limits (`ITERATIONS`, `LS_ITERATIONS`) are not errors: C MuJoCo stops at them silently too.
- Warp computes in float32 and raises the solver tolerance to at least 1e-6 (C MuJoCo: 1e-8, float64);
  trajectories therefore agree with the CPU backend only to a tolerance (tests/test_dexhands_warp.py).
"""

from __future__ import annotations

import mujoco
import numpy as np
import torch

from dexhands.batch import SimBuffers
from dexhands.selection import MaskSelection

NCONMAX = 128
NJMAX = 512
CHECK_EVERY = 100


class WarpSimulator:
    """`num_envs` independent copies of `model` as MuJoCo Warp worlds on the device of `torch_device`."""

    def __init__(self, model: mujoco.MjModel, num_envs: int, substeps: int, torch_device: torch.device,
                 nconmax: int = NCONMAX, njmax: int = NJMAX, check_every: int = CHECK_EVERY):
        import warp as wp

        # Before mujoco_warp initialises Warp: no start-up banner, and no line per compiled or loaded module.
        wp.config.quiet = True
        wp.config.log_level = max(wp.config.log_level, wp.LOG_WARNING)
        import mujoco_warp as mjw

        self._wp, self._mjw = wp, mjw
        self.model = model
        self.num_envs = num_envs
        self.substeps = substeps
        self.nconmax, self.njmax, self.check_every = nconmax, njmax, check_every
        self.device = warp_device(torch_device)
        self.is_cuda = self.device.startswith("cuda")
        data = mujoco.MjData(model)
        mujoco.mj_forward(model, data)
        with wp.ScopedDevice(self.device):
            try:
                self.m = mjw.put_model(model)
            except (NotImplementedError, ValueError) as e:
                raise NotImplementedError(f"MuJoCo Warp cannot simulate this scene: {e}") from e
            fatal = mjw.OverflowType.NEFC | mjw.OverflowType.NJMAX_NNZ | mjw.OverflowType.BROADPHASE
            self._fatal = int(fatal | mjw.OverflowType.NARROWPHASE)
            self.m.opt.warn_overflow = self._fatal  # device-side messages only for what we also raise on
            self.d = mjw.put_data(model, data, nworld=num_envs, nconmax=nconmax, njmax=njmax)
        d = self.d
        self._buffers = SimBuffers(*(wp.to_torch(a) for a in (d.qpos, d.qvel, d.sensordata, d.ctrl, d.qfrc_applied)))
        self._overflow = wp.to_torch(d.overflow)
        self._graphs: dict[str, object] = {}
        self._eager_runs: set[str] = set()
        self._steps = 0

    # ------------------------------------------------------------------------------------------- interface
    def buffers(self) -> SimBuffers:
        """float32 views on the simulation device; write them in place, never rebind them."""
        return self._buffers

    def select(self, mask: torch.Tensor) -> MaskSelection:
        """Always a mask: which envs are selected is never read back to the host."""
        return MaskSelection(mask)

    def refresh(self, selection: MaskSelection) -> None:
        """Recompute the sensors of the selected envs from their state (after a reset), like `mj_forward`.

        `forward` runs on every world; the other worlds keep the sensor values of their last step (forward
        writes neither the state nor the solver warm start, so their next step is unchanged)."""
        sensordata = self._buffers.sensordata
        kept = sensordata.clone()
        self._run("forward", self._forward)
        sensordata.copy_(torch.where(selection.mask[:, None], sensordata, kept))

    def step(self) -> None:
        """Advance every world by `substeps` physics steps with the current `ctrl` and `qfrc`."""
        self._run("step", self._step)
        self._steps += 1
        if self.check_every and self._steps % self.check_every == 0:
            self.check_overflow()

    def check_overflow(self) -> None:
        """Raise if a contact or constraint buffer overflowed since the last check (reads a flag per world)."""
        flags = int(np.bitwise_or.reduce(self._overflow.cpu().numpy()))
        bad = flags & self._fatal
        if bad:
            names = [f.name for f in self._mjw.OverflowType if f.value and (f.value & (f.value - 1)) == 0 and bad & f.value]
            raise RuntimeError(f"MuJoCo Warp buffer overflow ({', '.join(names)}): contacts or constraints were dropped. "
                               f"Raise nconmax (now {self.nconmax} per world) for BROADPHASE/NARROWPHASE or njmax "
                               f"(now {self.njmax}) for NEFC/NJMAX_NNZ.")
        self._overflow.zero_()

    def close(self) -> None:
        self._graphs.clear()

    # ------------------------------------------------------------------------------------------- internals
    def _step(self) -> None:
        # Keep time bounded, as the CPU backend does (nothing in the scene depends on it). A Warp memset, not a
        # torch op: this function is captured into a CUDA graph on Warp's stream.
        self.d.time.zero_()
        for _ in range(self.substeps):
            self._mjw.step(self.m, self.d)

    def _forward(self) -> None:
        self._mjw.forward(self.m, self.d)

    def _run(self, name: str, fn) -> None:
        """Run `fn` on the device, ordered after the torch work that wrote its inputs and before what reads them.

        On CUDA, Warp's stream waits for torch's stream and torch's for Warp's (events only: the host never
        blocks). The first call runs eagerly, which compiles and loads the kernels (not allowed during capture);
        later calls replay a CUDA graph captured on the second call."""
        wp = self._wp
        with wp.ScopedDevice(self.device):
            if not self.is_cuda:
                fn()
                return
            torch_stream = wp.stream_from_torch(torch.device(self.device))
            warp_stream = wp.get_stream(self.device)
            warp_stream.wait_stream(torch_stream)
            if name not in self._eager_runs:
                self._eager_runs.add(name)
                fn()
            else:
                if name not in self._graphs:
                    with wp.ScopedCapture() as capture:
                        fn()
                    self._graphs[name] = capture.graph
                wp.capture_launch(self._graphs[name])
            torch_stream.wait_stream(warp_stream)


def warp_device(torch_device: torch.device) -> str:
    """The Warp device for a torch device: the same CUDA device, else the CPU."""
    if torch_device.type != "cuda":
        return "cpu"
    index = torch_device.index if torch_device.index is not None else torch.cuda.current_device()
    return f"cuda:{index}"
