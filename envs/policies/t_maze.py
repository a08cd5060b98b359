"""Reference choosers for TMaze and SpatialTMaze, with known accuracy.

Each policy picks an arm once per trial, when the choice period begins (the go signal in TMaze, entering the
cross-bar in SpatialTMaze), by its rule:

* :class:`CueFollower`: the arm the cue pointed to. The cue is read from the observation while it is shown
  and held in the carry through the delay (a perfect working memory): accuracy 1 in the cued task.
* :class:`Alternator`: the arm not chosen on the previous trial (left on a block's first trial): accuracy 1
  in the alternation tasks (the first trial is correct whatever the arm).
* :class:`RandomChooser`: a fair coin: accuracy 1/2 in every task (after the first trial in alternation).

In TMaze a policy waits (action 0) until the go signal and then emits its choice (1 left, 2 right). In
SpatialTMaze it is a scripted navigator: it runs up the middle of the stem to the junction,
then to the chosen arm's food well, turning towards each waypoint and slowing down for sharp turns. The
navigator reads its own position and heading from the environment state, and the arm it just entered when
the outcome period begins (the animal knows where it is); the cue only ever comes from the observation.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import geometry as geo
from ..spatial_t_maze import SpatialTMazeParams, SpatialTMazeState
from ..t_maze_task import CHOICE, OUTCOME, TMazeState, TMazeTaskParams

__all__ = ["Alternator", "ArmChooser", "CueFollower", "RandomChooser", "TMazeChooserCarry", "navigate"]


class TMazeChooserCarry(NamedTuple):
    trial: jax.Array  # () int32, the trial the policy is in
    cue_memory: jax.Array  # () int32, last cue seen (0 left, 1 right, -1 none)
    last_arm: jax.Array  # () int32, arm entered on the previous trial (-1 none)
    target: jax.Array  # () int32, arm chosen for this trial (-1 not yet)


def navigate(
    target: jax.Array, env_state: SpatialTMazeState, env_params: SpatialTMazeParams, speed: float
) -> jax.Array:
    """SpatialTMaze action ``[acceleration, angular velocity]`` that walks towards the junction while in the
    stem and then to the food well of arm ``target`` (0 left, 1 right), at ``speed`` m/s."""
    p = env_params
    x0, x1 = p.stem_x
    y_mid = p.stem_length + 0.5 * p.corridor_width
    junction = jnp.stack([jnp.asarray(0.5 * (x0 + x1), jnp.float32), jnp.asarray(y_mid, jnp.float32)])
    goal_x = jnp.where(target == 0, 0.5 * p.goal_length, p.maze_width - 0.5 * p.goal_length)
    goal = jnp.stack([goal_x.astype(jnp.float32), jnp.asarray(y_mid, jnp.float32)])
    waypoint = jnp.where(env_state.position[1] >= p.stem_length, goal, junction)
    to_go = waypoint - env_state.position
    error = geo.wrap_angle(jnp.arctan2(to_go[1], to_go[0]) - env_state.heading)
    omega = jnp.clip(error / p.dt, -p.max_angular_velocity, p.max_angular_velocity)
    target_speed = jnp.where(jnp.abs(error) < 0.5 * jnp.pi, speed, 0.0)
    accel = (target_speed - env_state.speed) / p.dt
    return jnp.stack([accel, omega]).astype(jnp.float32)


class ArmChooser:
    """Base of the reference choosers: subclasses define :meth:`decide`. ``speed`` (m/s) is the spatial
    navigator's running speed (0.3 m/s: a brisk mouse walk)."""

    def __init__(self, speed: float = 0.3) -> None:
        self.speed = speed

    def decide(self, key: jax.Array, carry: TMazeChooserCarry) -> jax.Array:
        raise NotImplementedError

    def init(self, key: jax.Array, env_state: TMazeState, env_params: TMazeTaskParams) -> TMazeChooserCarry:
        minus = jnp.full((), -1, jnp.int32)
        return TMazeChooserCarry(trial=env_state.trial, cue_memory=minus, last_arm=minus, target=minus)

    def act(
        self,
        key: jax.Array,
        carry: TMazeChooserCarry,
        obs: Any,
        env_state: TMazeState,
        env_params: TMazeTaskParams,
    ) -> tuple[jax.Array, TMazeChooserCarry]:
        new_trial = env_state.trial != carry.trial
        target = jnp.where(new_trial, -1, carry.target)
        cue_memory = jnp.where(obs[0] > 0.5, 0, jnp.where(obs[1] > 0.5, 1, carry.cue_memory))
        entered = (env_state.phase == OUTCOME) & (env_state.choice >= 0)
        last_arm = jnp.where(entered, env_state.choice, carry.last_arm)
        carry = TMazeChooserCarry(
            trial=env_state.trial,
            cue_memory=cue_memory.astype(jnp.int32),
            last_arm=last_arm.astype(jnp.int32),
            target=target.astype(jnp.int32),
        )
        decide_now = (env_state.phase == CHOICE) & (target < 0)
        target = jnp.where(decide_now, self.decide(key, carry), target).astype(jnp.int32)
        carry = carry._replace(target=target)
        if isinstance(env_params, SpatialTMazeParams):
            action = navigate(target, env_state, env_params, self.speed)
        else:
            action = jnp.where(env_state.phase == CHOICE, target + 1, 0).astype(jnp.int32)
        return action, carry


class CueFollower(ArmChooser):
    """Choose the arm the remembered cue pointed to (left when no cue was seen)."""

    def decide(self, key: jax.Array, carry: TMazeChooserCarry) -> jax.Array:
        return jnp.maximum(carry.cue_memory, 0)


class Alternator(ArmChooser):
    """Choose the arm not entered on the previous trial (left on the first trial)."""

    def decide(self, key: jax.Array, carry: TMazeChooserCarry) -> jax.Array:
        return jnp.where(carry.last_arm >= 0, 1 - carry.last_arm, 0)


class RandomChooser(ArmChooser):
    """Choose left or right with probability 1/2 each, independently on every trial."""

    def decide(self, key: jax.Array, carry: TMazeChooserCarry) -> jax.Array:
        return jax.random.bernoulli(key).astype(jnp.int32)
