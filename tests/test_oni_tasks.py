"""ONI's four NetHack tasks as algos/appo_oni_nethack.py builds them on nle 1.3.0: the extended action set, the sparse
reward without time penalty, Staircase success only on a real descent to level N (played in wizard mode from a fixed
seed), the eat and drink prompts, the CAST and #enhance macros, and the step limit reported as truncated. Each test
runs real NetHack for a few steps, or the env's own methods on hand-built observations."""

import numpy as np
import pytest
from nle import nethack
from script_tools import load_script

SCORE, ORACLE = "NetHackScoreExtendedActions-v1", "NetHackOracleExtendedActions-v1"
LVL3, LVL4 = "NetHackStaircaseLvl3ExtendedActions-v1", "NetHackStaircaseLvl4ExtendedActions-v1"
EAT, NORTHWEST, NORTH, DOWN, SEARCH, CAST, QUAFF = 21, 8, 1, 18, 22, 23, 24  # indices into the extended action set
SEEDS = (1, 2)  # a Monk with food, a potion and a spell; in wizard mode, a down staircase within one travel


@pytest.fixture(scope="module")
def oni():
    return load_script("appo_oni_nethack")


def started(oni, task, **options):
    env = oni.make_env(task, **options)
    env.seed(*SEEDS, reseed=False)
    env.reset()
    return env


def text(obs):
    return bytes(obs["message"]).split(b"\0", 1)[0].decode("latin-1")


def keys(env, *pressed):
    """Keys straight to the game, past the env's step (wizard commands are not actions); returns the raw observation."""
    for key in pressed:
        raw, _ = env.nethack.step(key)
    env.last_observation = raw
    return dict(zip(env._observation_keys, raw))


def on_down_stairs_of(env, level):
    """Wizard mode: level-teleport to `level`, map it, travel onto its down staircase."""
    keys(env, nethack.C("v"), *map(ord, str(level)), ord("\r"), nethack.C("f"))
    for _ in range(20):
        obs = keys(env, ord("_"), ord(">"), ord("."))  # travel, cursor to the staircase, go
        while obs["internal"][3]:  # --More--
            obs = keys(env, ord(" "))
        if obs["internal"][4]:  # standing on a down staircase
            return obs
    raise AssertionError("the travel command did not reach the staircase")


def test_extended_action_set(oni):
    env = oni.make_env(SCORE)
    try:
        C = nethack.Command
        assert env.action_space.n == 28
        assert [env.actions[i] for i in (EAT, NORTHWEST, DOWN, SEARCH)] == [C.EAT, ord("y"), ord(">"), C.SEARCH]
        assert tuple(env.actions[23:]) == (C.CAST, C.QUAFF, C.PRAY, C.PICKUP, C.PAY)
    finally:
        env.close()
    assert oni.TASK_COEFF == {SCORE: 0.1, ORACLE: 10.0, LVL3: 10.0, LVL4: 10.0}  # ONI's extrinsic coefficients


@pytest.mark.parametrize("task, start, succeeds", [(LVL3, 2, True), (LVL4, 2, False), (LVL3, 3, False), (LVL4, 3, True)])
def test_staircase_success_is_a_descent_to_exactly_level_n(oni, task, start, succeeds):
    env = started(oni, task, wizard=True)
    try:
        assert on_down_stairs_of(env, start)["blstats"][24] == start
        obs, reward, terminated, truncated, info = env.step(DOWN)
    finally:
        env.close()
    # the message comes with --More-- before the new level is drawn: the env keeps it through the space it presses
    assert "You descend the stairs." in text(obs) and obs["blstats"][24] == start + 1
    assert (reward, terminated, truncated) == ((50.0, True, False) if succeeds else (0.0, False, False))
    assert info["end_status"] == (2 if succeeds else 0)


def test_a_level_teleport_is_not_a_descent(oni):
    env = started(oni, LVL3, wizard=True)
    try:
        keys(env, nethack.C("v"), ord("3"), ord("\r"))
        obs, reward, terminated, _, info = env.step(SEARCH)
    finally:
        env.close()
    assert obs["blstats"][24] == 3 and "descend" not in text(obs)
    assert (reward, terminated, info["end_status"]) == (0.0, False, 0)


def test_staircase_end_reads_the_message_and_the_level_in_the_branch(oni):
    env = oni.make_env(LVL3)
    try:
        def status(message, dlevel, depth):
            obs = [None] * len(env._observation_keys)
            obs[env._message_index] = np.frombuffer(message.ljust(256, b"\0"), dtype=np.uint8)
            obs[env._blstats_index] = np.zeros(27, dtype=np.int64)
            obs[env._blstats_index][[24, 12]] = dlevel, depth
            return env._is_episode_end(obs)

        assert status(b"You descend the stairs.", 3, 3) == env.StepStatus.TASK_SUCCESSFUL
        assert status(b"You descend the stairs.", 1, 4) == env.StepStatus.RUNNING  # Gnomish Mines: depth 4, level 1
        assert status(b"A trap door opens up under you!", 3, 3) == env.StepStatus.RUNNING
        assert status(b"", 3, 3) == env.StepStatus.RUNNING  # a hole, a level teleport
    finally:
        env.close()


@pytest.mark.parametrize("task", [SCORE, ORACLE, LVL3])
def test_only_score_has_a_time_penalty(oni, task):
    env = started(oni, task)
    try:
        obs, reward, *_ = env.step(EAT)  # the eat prompt: the turn counter stands still
    finally:
        env.close()
    assert text(obs).startswith("What do you want to eat?") and obs["blstats"][20] == 1
    assert reward == (-0.01 if task == SCORE else 0.0)


def test_oracle_success_and_reward(oni):
    env = oni.make_env(ORACLE)
    try:
        obs = [None] * len(env._observation_keys)
        obs[env._glyph_index] = np.zeros((21, 79), dtype=np.int16)
        obs[env._blstats_index] = np.zeros(27, dtype=np.int64)
        obs[env._blstats_index][:2] = 10, 5
        assert env._is_episode_end(obs) == env.StepStatus.RUNNING
        obs[env._glyph_index][6, 11] = env.oracle_glyph  # diagonally next to the hero
        assert env._is_episode_end(obs) == env.StepStatus.TASK_SUCCESSFUL
        assert env._reward_fn(None, None, None, env.StepStatus.TASK_SUCCESSFUL) == 50.0
        assert env._reward_fn(None, None, None, env.StepStatus.RUNNING) == 0.0
    finally:
        env.close()


def test_prompt_key(oni):
    y, k, space = ord("y"), ord("k"), ord(" ")
    assert oni.prompt_key(b"What do you want to eat? [fghi or ?*] ", y) == ord("f")
    assert oni.prompt_key(b"What do you want to drink? [e or ?*] ", y) == ord("e")
    assert oni.prompt_key(b"What do you want to eat? [fghi or ?*] ", k) == space
    assert oni.prompt_key(b"What do you want to eat? [$ or ?*] ", y) == space  # no inventory letter offered
    assert oni.prompt_key(b"There is a newt corpse here; eat it? [ynq] (n) ", y) == y  # not the inventory prompt
    assert oni.prompt_key(b"", k) == k


@pytest.mark.parametrize("answer, message, turn", [(NORTHWEST, "You're finally finished.", 5), (NORTH, "Never mind.", 1)])
def test_eat_prompt(oni, answer, message, turn):
    env = started(oni, SCORE)
    try:
        obs, *_ = env.step(EAT)
        assert text(obs) == "What do you want to eat? [fghi or ?*] "  # left open for the agent
        obs, *_ = env.step(answer)  # y eats the first item offered (f); any other key closes the prompt
    finally:
        env.close()
    assert text(obs) == message and obs["blstats"][20] == turn


def test_drink_prompt_is_left_open_and_answered(oni):
    env = started(oni, SCORE)
    try:
        obs, *_ = env.step(QUAFF)
        assert text(obs) == "What do you want to drink? [e or ?*] "  # nle alone would close it with ESC
        obs, *_ = env.step(NORTHWEST)
    finally:
        env.close()
    assert text(obs) == "You feel better." and obs["blstats"][10] == 15  # the potion of healing: HP 14 -> 15


def test_cast_chooses_the_first_spell(oni):
    env = started(oni, SCORE)
    try:
        obs, *_ = env.step(CAST)  # without the macro the spell menu would wait for a letter
    finally:
        env.close()
    assert text(obs) == "You don't have enough energy to cast that spell."


class FakeGame:
    """Stands in for env.nethack: answers each key with the next scripted screen and records the keys."""

    def __init__(self, screens):
        self.screens, self.sent = iter(screens), []

    def step(self, key):
        self.sent.append(int(key))
        return next(self.screens), False


def screen(env, message, more=False, question=False, dlevel=1):
    obs = [None] * len(env._observation_keys)
    obs[env._glyph_index] = np.zeros((21, 79), dtype=np.int16)
    obs[env._blstats_index] = np.zeros(27, dtype=np.int64)
    obs[env._blstats_index][24] = dlevel
    obs[env._message_index] = np.frombuffer(message.encode().ljust(256, b"\0"), dtype=np.uint8).copy()
    obs[env._program_state_index] = np.zeros(6, dtype=np.int32)
    obs[env._internal_index] = np.zeros(9, dtype=np.int32)
    obs[env._internal_index][1], obs[env._internal_index][3] = question, more
    return tuple(obs)


def known_steps(env, first, screens, key=107):  # 107: `k`, a move
    env.nethack, real = FakeGame(screens), env.nethack
    try:
        obs, _ = env._perform_known_steps(first, False, key=key)
        return dict(zip(env._observation_keys, obs)), env.nethack.sent
    finally:
        env.nethack = real


def test_descent_message_survives_a_chain_of_more(oni):
    env = started(oni, LVL3)
    try:
        obs, sent = known_steps(env, screen(env, "You descend the stairs.", more=True),
                                [screen(env, "You remember this level.", more=True, dlevel=3), screen(env, "", dlevel=3)])
    finally:
        env.close()
    assert sent == [ord(" "), ord(" ")] and text(obs) == "You descend the stairs." and obs["blstats"][24] == 3


def test_enhance_macro_waits_for_open_questions(oni):
    env = started(oni, SCORE)
    ENHANCE, a = int(nethack.Command.ENHANCE), ord("a")
    try:
        # the hint under --More--: space, then #enhance and the first skill once nothing else is asked
        obs, sent = known_steps(env, screen(env, "You feel more confident in your skills.", more=True),
                                [screen(env, ""), screen(env, "Pick a skill"), screen(env, "You are now more skilled.")])
        assert sent == [ord(" "), ENHANCE, a] and text(obs) == "You are now more skilled." and not env.enhance_pending
        # a question left open to the agent comes first; #enhance follows at the end of a later step
        _, sent = known_steps(env, screen(env, "You feel more confident in your skills.", more=True),
                              [screen(env, "In what direction? ", question=True)])
        assert sent == [ord(" ")] and env.enhance_pending
        _, sent = known_steps(env, screen(env, "You miss it."), [screen(env, ""), screen(env, "")])
        assert sent == [ENHANCE, a] and not env.enhance_pending
        _, sent = known_steps(env, screen(env, ""), [screen(env, "Choose a spell"), screen(env, "")], key=ord("Z"))
        assert sent == [a]  # CAST: the first spell
    finally:
        env.close()


def test_step_limit_is_truncated_not_terminated(oni):
    env = oni.make_env(LVL3, max_episode_steps=2)
    env.seed(*SEEDS, reseed=False)
    env.reset()
    try:
        first = env.step(SEARCH)[2:4]
        obs, reward, terminated, truncated, info = env.step(SEARCH)
    finally:
        env.close()
    assert first == (False, False)
    assert (reward, terminated, truncated, info["end_status"]) == (0.0, False, True, env.StepStatus.ABORTED)
    # the observation the episode stopped in, not the quit game's zeroed arrays: a time-out bootstraps from it
    assert obs["blstats"][nethack.NLE_BL_DEPTH] == 1 and obs["blstats"][nethack.NLE_BL_HP] > 0
