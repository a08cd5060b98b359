"""Hand-written reference policies: the behaviour each task is checked against before any learning.

Every policy has the same two pure functions, so rollouts, tests and benchmarks treat them alike (and treat
them like the recurrent agents, which carry a hidden state the same way)::

    carry = policy.init(key, env_state, env_params)
    action, carry = policy.act(key, carry, obs, env_state, env_params)

Reference policies may read the environment state (privileged information such as the true position): they
are models of the animal or oracles of the task, not learners.
"""

from .base import Policy, UniformRandomPolicy
from .odor_plume import (
    GradientClimb,
    GradientClimbCarry,
    GradientClimbParams,
    RandomSearch,
    RandomSearchParams,
    SurgeCast,
    SurgeCastCarry,
    SurgeCastParams,
)
from .patch_foraging import FixedResidencePolicy, MVTPolicy, PatchPolicyCarry
from .random_motion import RandomMotion, RandomMotionCarry, RandomMotionParams
from .t_maze import Alternator, ArmChooser, CueFollower, RandomChooser, TMazeChooserCarry
from .water_maze import PlatformOracle, RandomSwimmer, RandomSwimmerCarry, RandomSwimmerParams

__all__ = [
    "FixedResidencePolicy",
    "GradientClimb",
    "GradientClimbCarry",
    "GradientClimbParams",
    "MVTPolicy",
    "PatchPolicyCarry",
    "Policy",
    "RandomMotion",
    "RandomMotionCarry",
    "RandomMotionParams",
    "RandomSearch",
    "RandomSearchParams",
    "SurgeCast",
    "SurgeCastCarry",
    "SurgeCastParams",
    "UniformRandomPolicy",
    "Alternator",
    "ArmChooser",
    "CueFollower",
    "RandomChooser",
    "TMazeChooserCarry",
    "PlatformOracle",
    "RandomSwimmer",
    "RandomSwimmerCarry",
    "RandomSwimmerParams",
]
