"""What fitting is asked to do and what it returns: :class:`FitConfig`, :class:`FittedModel`, :class:`FitResult`."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, NamedTuple

import numpy as np
from flax import nnx

from ..agents import AgentConfig
from ..agents.cores import CoreConfig
from ..agents.encoders import EncoderConfig
from ..envs.open_field import OpenFieldParams
from ..envs.policies import RandomMotion, RandomMotionParams
from .behaviour import CloningConfig
from .targets import DEFAULT_WARP, TargetSpeedPolicy, Warp

__all__ = [
    "FitConfig",
    "FittedModel",
    "FitResult",
    "MODELS",
    "SUPPORTED_ENVS",
    "NOT_FITTABLE",
    "TRANSFER_ARENAS",
]

MODELS = ("gru", "lstm", "rnn", "ou")
_CORE_OF = {"gru": "gru", "lstm": "lstm", "rnn": "leaky_rnn"}
SUPPORTED_ENVS = ("neuroethology/OpenField-v0",)
# Why each other environment cannot be fitted to a recording yet: fitting replays the animal's own path
# through the environment (teacher forcing), so every observation must be rebuilt from what was recorded.
NOT_FITTABLE = {
    "neuroethology/WaterMaze-v0": "it needs the platform's position and each trial's start, which a position "
    "track does not carry (not reconstructed yet)",
    "neuroethology/OdorPlume-v0": "it needs the odour the animal sensed at every step, which a position track "
    "does not carry",
    "neuroethology/PatchForaging-v0": "it is a choice task without a path: analyse its trials with "
    "neuroethology.analysis.trials",
    "neuroethology/TMaze-v0": "it is a choice task without a path: analyse its trials with neuroethology.analysis.trials",
    "neuroethology/SpatialPatchForaging-v0": "it needs every patch's position and resource level along the "
    "recording (not reconstructed yet)",
    "neuroethology/SpatialTMaze-v0": "it needs the maze's geometry and each trial's cue and phase (not "
    "reconstructed yet)",
}


#: Arenas of other sizes and shapes for the transfer check (closed_loop.transfer_check): the 3.5 x 2.5 m
#: box of Tanni et al. (2022), a circle of 2 m diameter, and the linear track preset.
TRANSFER_ARENAS: tuple[Any, ...] = (
    {"shape": "box", "width": 3.5, "height": 2.5},
    {"shape": "circle", "radius": 1.0},
    "linear_track",
)


def _transfer_arena_problems(arenas: Any) -> list[str]:
    """Each of ``transfer_arenas`` must be an arena (checked before fitting, not after)."""
    from ..envs.arena import resolve_arena

    problems = []
    for i, spec in enumerate(arenas):
        try:
            resolve_arena(spec)
        except ValueError as e:
            problems.append(f"transfer_arenas[{i}]: {e}")
    return problems


@dataclasses.dataclass(frozen=True)
class FitConfig:
    """How ``neuroethology fit`` models a recording (every field can be overridden as ``key=value``)."""

    seed: int = 0
    total_steps: int = 1500  # gradient updates of the networks ("ou" ignores it)
    model: Literal["gru", "lstm", "rnn", "ou"] = "gru"  # "rnn" is the leaky rate RNN
    env: str = "neuroethology/OpenField-v0"
    env_params: dict[str, Any] = dataclasses.field(default_factory=dict)  # OpenField overrides, e.g. n_rays
    hidden_size: int = 64  # recurrent units
    head_components: int = 3  # > 0: a mixture of this many Gaussians for (speed, turn) (mixture density head;
    # 3: chosen by `neuroethology select` on the Sargolini rat, README); 0: one Gaussian with a state-independent s.d.
    image: bool = False  # add OpenField's egocentric image and a CNN encoder
    num_seeds: int = 4  # networks trained at once (vmap); the best on validation is kept
    learning_rate: float = 3e-3
    batch_size: int = 32  # training windows per update
    window: int = 128  # steps per training window
    burn_in: int = 16  # steps that only warm the recurrent state up
    smoothing: float = (
        0.02  # s, Gaussian smoothing of positions before anything else (tracking jitter; 0: none)
    )
    min_speed: float = 0.025  # m/s: below it the heading is undefined and held (tracking jitter)
    speed_offset: float = 0.0  # m/s: > 0 models log(next speed + speed_offset) (fitting.targets; 0: linear)
    turn_scale: float = 2.0  # rad/s: networks model asinh(angular velocity / turn_scale) (0: linear)
    self_motion_noise: float = 0.1  # s.d. of noise added to the speed and turn-rate inputs while training,
    # in units of their half range (teaches the network to correct its own deviations; 0: none)
    noise_inputs: Literal["speed_and_turn", "speed", "turn"] = "speed"  # which inputs get that noise
    scheduled_sampling: float = 0.0  # probability per step that the speed and turn-rate inputs are the
    # network's own draw of the step before, not the animal's (scheduled sampling, Bengio et al. 2015; 0: none)
    holdout_fraction: float = 0.2  # the last part of the recording, held out for testing
    validation_fraction: float = 0.1  # the last part of the rest, for early stopping
    folds: int = 1  # > 1: also cross-validate held-out likelihoods over this many contiguous blocks
    patience: int = 10  # chunks of updates without validation improvement before stopping early
    select: Literal["likelihood", "closed_loop"] = "closed_loop"  # how the kept seed is chosen (see below)
    selection_runs: int = 8  # closed-loop selection: simulated animals per seed
    ray_range: float = 0.35  # m: how far the wall rays reach (OpenField's ray_range; 0: unlimited); a finite
    # range means the same in any arena, so the model transfers (README, "Fitting animals")
    transfer_arenas: tuple[Any, ...] = TRANSFER_ARENAS  # arenas never seen in fitting, for the transfer
    # check (any form envs.arena.resolve_arena takes; empty: no check)
    transfer_duration: float = 120.0  # s per simulated animal in each of them (selection_runs animals)
    animal_identity: Literal["embedding", "pooled"] = "embedding"  # several animals fitted together
    # (fitting.population): "embedding" gives each animal a one-hot identity input (a learned per-animal
    # vector); "pooled" fits one model of them all
    report_metrics: bool = True  # simulate the fitted model (selection_runs animals, as long as the held-out
    # part) and report every compare metric against the held-out part, with the animal's own yardstick

    def validate(self) -> list[str]:
        problems = []
        for name, allowed in (
            ("model", MODELS),
            ("select", ("likelihood", "closed_loop")),
            ("noise_inputs", ("speed_and_turn", "speed", "turn")),
            ("animal_identity", ("embedding", "pooled")),
        ):
            if getattr(self, name) not in allowed:
                problems.append(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if self.env not in SUPPORTED_ENVS:
            why = NOT_FITTABLE.get(self.env)
            problems.append(
                f"env: fitting supports {', '.join(SUPPORTED_ENVS)}; {self.env!r} "
                + (f"cannot be fitted: {why}" if why else "is not a registered environment")
            )
        for name, closed in (
            ("holdout_fraction", False),
            ("validation_fraction", False),
            ("scheduled_sampling", True),
        ):
            value = getattr(self, name)
            if not (0 <= value <= 1 if closed else 0 < value < 1):
                problems.append(f"{name} must be in {'[0, 1]' if closed else '(0, 1)'}, got {value}")
        for name in ("total_steps", "hidden_size", "num_seeds", "batch_size", "window", "folds", "patience"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.burn_in < self.window:
            problems.append(f"burn_in must be in [0, window), got {self.burn_in} (window {self.window})")
        if not self.ray_range >= 0:
            problems.append(f"ray_range must be >= 0 m (0: unlimited), got {self.ray_range}")
        problems += _transfer_arena_problems(self.transfer_arenas)
        if not self.transfer_duration > 0:
            problems.append(f"transfer_duration must be > 0 s, got {self.transfer_duration}")
        if "ray_range" in self.env_params:
            problems.append(
                "env_params: set the rays' range with the fit's own ray_range=VALUE (0: unlimited)"
            )
        if self.head_components < 0:
            problems.append(f"head_components must be >= 0 (0: one Gaussian), got {self.head_components}")
        if self.smoothing < 0 or self.min_speed < 0:
            problems.append("smoothing and min_speed must be >= 0")
        if not (self.speed_offset >= 0 and self.turn_scale >= 0):
            problems.append("speed_offset and turn_scale must be >= 0 (0: no warp)")
        return problems

    @property
    def warp(self) -> Warp:
        return Warp(self.speed_offset, self.turn_scale)

    @property
    def agent_config(self) -> AgentConfig:
        if self.model == "ou":
            raise ValueError("the 'ou' model has no network")
        return AgentConfig(
            encoder=EncoderConfig(),
            core=CoreConfig(kind=_CORE_OF[self.model], hidden_size=self.hidden_size),
            squash="clip",
            init_std=0.2,
            mixture_components=self.head_components,
        )

    def cloning(self, params: OpenFieldParams) -> CloningConfig:
        """Optimisation settings; the self-motion inputs are OpenField's last two vector features."""
        n = int(params.n_rays)
        return CloningConfig(
            learning_rate=self.learning_rate,
            batch_size=self.batch_size,
            window=self.window,
            burn_in=self.burn_in,
            input_noise=self.self_motion_noise,
            noise_features={"speed_and_turn": (n, n + 1), "speed": (n,), "turn": (n + 1,)}[self.noise_inputs],
            scheduled_sampling=self.scheduled_sampling,
            self_motion=(n, n + 1),
            self_motion_high=(float(params.max_speed), float(params.max_angular_velocity)),
            max_speed_change=float(params.max_acceleration) * float(params.dt),
            warp=(float(self.speed_offset), float(self.turn_scale)),
        )


class FittedModel(NamedTuple):
    """A fitted model ready to simulate: ``kind`` "ou" or a network kind, with what it needs."""

    kind: str
    env_params: OpenFieldParams
    baseline: RandomMotionParams
    graphdef: nnx.GraphDef | None = None
    weights: nnx.State | None = None  # the selected network's weights (no seed axis)
    warp: Warp = DEFAULT_WARP  # how the network's outputs map to speed and angular velocity
    identity: np.ndarray | None = None  # (animals,) one-hot code of this animal in a network fitted to
    # several animals (fitting.population); None for a network of one animal

    def policy(self, *, deterministic: bool = False):
        """The model behind the environments' policy protocol."""
        if self.kind == "ou":
            return RandomMotion(self.baseline)
        return TargetSpeedPolicy(
            self.graphdef, self.weights, warp=self.warp, deterministic=deterministic, identity=self.identity
        )


class FitResult(NamedTuple):
    model: FittedModel
    scores: dict[str, Any]  # held-out log-likelihoods and more (what model.json stores)
    train_curves: dict[str, np.ndarray]
