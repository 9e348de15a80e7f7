"""Deepest overlap between the two hands in given physics states, for the demos of the dexhands tasks.

In the tasks whose original keeps the hands apart (Isaac Gym collision filter -1, `SceneLayout.hand_contacts` off),
the hands pass through each other, so a demonstration found by search must check by itself that it does not.
"""

from __future__ import annotations

import copy

import mujoco
import numpy as np
import torch

from dexhands.batch import STATE_SPEC


class HandOverlap:
    """Deepest overlap (m, 0 if none) between a right-hand and a left-hand collision geom in given physics states.

    A copy of the env's model in which only right-left geom pairs pass the contact filter finds the overlaps by
    collision detection (the hand's explicit finger pairs still report same-hand contacts, which are skipped).
    """

    def __init__(self, model: mujoco.MjModel):
        self.model = copy.deepcopy(model)
        m = self.model
        names = [m.body(m.geom_bodyid[g]).name for g in range(m.ngeom)]
        self.hand = np.array([0 if not m.geom_contype[g] else 1 if n.startswith("right/") else 2 if n.startswith("left/")
                              else 0 for g, n in enumerate(names)])
        m.geom_contype[:] = np.where(self.hand == 1, 2, 0)
        m.geom_conaffinity[:] = np.where(self.hand == 2, 2, 0)
        for body in range(m.nbody):  # the broad phase filters bodies by the union of their geoms' bits first
            geoms = m.geom_bodyid == body
            m.body_contype[body] = np.bitwise_or.reduce(m.geom_contype[geoms]) if geoms.any() else 0
            m.body_conaffinity[body] = np.bitwise_or.reduce(m.geom_conaffinity[geoms]) if geoms.any() else 0
        self.data = mujoco.MjData(m)

    def __call__(self, states: np.ndarray) -> torch.Tensor:
        m, d = self.model, self.data
        out = torch.zeros(len(states))
        for row, state in enumerate(states):
            mujoco.mj_setState(m, d, state, STATE_SPEC)
            mujoco.mj_kinematics(m, d)
            mujoco.mj_collision(m, d)
            between = self.hand[d.contact.geom1] != self.hand[d.contact.geom2]
            if between.any():
                out[row] = max(0.0, -d.contact.dist[between].min())
        return out
