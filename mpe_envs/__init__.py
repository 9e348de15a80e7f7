"""The Multi-Particle Environments of LaRe's experiments behind one batched interface, for `algos/ippo_lare_mpe.py`.

`make_envs(backend, scn, num_envs, seed, device, episode_length)`, with `scn` an entry of `SCENARIOS`, returns an
object with `reset() -> obs` and `step(actions) -> (obs, rewards)`, tensors of shape (num_envs, n_agents, ...), for
the `mpe2` or the `vmas` backend.
"""

import torch

from mpe_envs.mpe2_backend import MPE2Vec, make_knearest_mpe
from mpe_envs.scenarios import SCENARIOS, build_observation, observation_layout, scripted_prey_actions
from mpe_envs.vmas_backend import VMASVec

__all__ = ["SCENARIOS", "make_envs", "observation_layout", "build_observation", "scripted_prey_actions",
           "make_knearest_mpe"]


def make_envs(backend, scn, num_envs, seed, device, episode_length=25):
    cls = MPE2Vec if backend == "mpe2" else VMASVec
    # mpe2 computes on the CPU anyway; VMAS simulates on the training device
    return cls(scn, num_envs, seed, device if backend == "vmas" else torch.device("cpu"), episode_length)
