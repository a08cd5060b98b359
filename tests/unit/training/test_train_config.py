"""Training configs: the shipped YAML files load, overrides apply, and bad configs are rejected with the
nearest valid key named and every problem listed."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import tiny_train

from neuroethology.config import ConfigError, apply_overrides, config_from_dict, config_to_dict, dump_config
from neuroethology.training import TrainConfig, load_train_config

CONFIGS = Path(__file__).resolve().parents[3] / "configs"
TRAINING_CONFIGS = ["open_field", "patch_foraging", "odor_plume", "water_maze", "t_maze"]


def _rejection(data: dict) -> str:
    """The message of the ConfigError that ``config_from_dict`` raises for the config ``data``."""
    with pytest.raises(ConfigError) as err:
        config_from_dict(TrainConfig, data, source="test")
    return str(err.value)


@pytest.mark.parametrize("name", TRAINING_CONFIGS)
def test_each_environment_has_a_config_that_loads(name):
    config = load_train_config(CONFIGS / f"{name}.yaml")
    assert isinstance(config, TrainConfig)
    assert config.total_steps > 0 and config.seed >= 0
    env_name = {
        "open_field": "OpenField",
        "patch_foraging": "PatchForaging",
        "odor_plume": "OdorPlume",
        "water_maze": "WaterMaze",
        "t_maze": "TMaze",
    }[name]
    assert config.env.id == f"neuroethology/{env_name}-v0"
    text = (CONFIGS / f"{name}.yaml").read_text()
    assert text.lstrip().startswith("#")  # each config says what it trains and why


def test_overrides_with_dotted_keys_and_yaml_values(tmp_path):
    config = load_train_config(
        CONFIGS / "open_field.yaml",
        [
            "total_steps=1e6",
            "seed=3",
            "ppo.learning_rate=3e-4",
            "agent.encoder.mlp_features=[32, 32]",
            "agent.core.kind=lstm",
            "env.params.episode_duration=2.5",
            "sweep.param=ent_coef",
            "sweep.values=[0.0, 0.01]",
        ],
    )
    assert config.total_steps == 1_000_000 and config.seed == 3
    assert config.ppo.learning_rate == pytest.approx(3e-4)
    assert config.agent.encoder.mlp_features == (32, 32) and config.agent.core.kind == "lstm"
    assert config.env.params["episode_duration"] == 2.5
    assert config.num_runs == 2 and config.run_labels()[1] == {"seed": 3, "ent_coef": 0.01}
    # Round trip through YAML.
    dump_config(config, tmp_path / "c.yaml")
    assert load_train_config(tmp_path / "c.yaml") == config


def test_unknown_keys_are_rejected_with_the_nearest_valid_key(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_train_config(
            CONFIGS / "open_field.yaml", ["ppo.learnin_rate=1e-3", "totl_steps=5", "agent.cor.kind=gru"]
        )
    message = str(err.value)
    assert "open_field.yaml" in message
    assert "unknown key 'ppo.learnin_rate' (did you mean 'ppo.learning_rate'?)" in message
    assert "unknown key 'totl_steps' (did you mean 'total_steps'?)" in message
    assert "unknown key 'agent.cor' (did you mean 'agent.core'?)" in message
    assert len(err.value.problems) == 3  # all gathered in one error


def test_wrong_types_and_values_are_rejected_together():
    with pytest.raises(ConfigError) as err:
        load_train_config(
            CONFIGS / "open_field.yaml",
            [
                "ppo.num_envs=many",
                "ppo.anneal_lr=3",
                "agent.core.kind=gur",
                "total_steps=1.5",
                "agent.encoder.mlp_features=64",
            ],
        )
    message = str(err.value)
    assert "'ppo.num_envs' must be an integer, got 'many'" in message
    assert "'ppo.anneal_lr' must be true or false, got 3" in message
    assert (
        "'agent.core.kind' must be one of 'gru', 'lstm', 'leaky_rnn', 'feedforward', got 'gur' "
        "(did you mean 'gru'?)" in message
    )
    assert "'total_steps' must be an integer, got 1.5" in message
    assert "'agent.encoder.mlp_features' must be a list of an integer, got 64" in message


def test_cross_field_and_environment_checks():
    base = config_to_dict(load_train_config(CONFIGS / "open_field.yaml"))
    bad = apply_overrides(base, ["ppo.bptt_length=30", "env.params.reward_typ=coverage", "ppo.gamma=1.5"])
    message = _rejection(bad)
    assert "'ppo.bptt_length' (30) must divide 'ppo.num_steps' (128)" in message
    assert "did you mean 'reward_type'?" in message
    assert "'ppo.gamma' must be in [0, 1], got 1.5" in message
    with pytest.raises(
        ConfigError, match="(?i)unknown environment 'neuroethology/OpenFeld-v0'.*did you mean"
    ):
        load_train_config(CONFIGS / "open_field.yaml", ["env.id=neuroethology/OpenFeld-v0"])
    with pytest.raises(ConfigError, match="must divide the number of training sequences"):
        load_train_config(CONFIGS / "open_field.yaml", ["ppo.num_minibatches=7"])


def test_file_and_syntax_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_train_config(tmp_path / "missing.yaml")
    (tmp_path / "broken.yaml").write_text("seed: [1, 2\n")
    with pytest.raises(ValueError, match="broken.yaml: not valid YAML"):
        load_train_config(tmp_path / "broken.yaml")
    with pytest.raises(ConfigError, match="not of the form key=value"):
        load_train_config(CONFIGS / "open_field.yaml", ["ppo.learning_rate"])


def test_the_train_command_reports_a_bad_config_without_a_traceback(capsys, tmp_path):
    from neuroethology.cli import main

    code = main(["train", str(CONFIGS / "open_field.yaml"), "ppo.num_envz=8", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2
    assert "did you mean 'ppo.num_envs'?" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_curriculum_stages_are_checked():
    config = load_train_config(CONFIGS / "odor_plume.yaml")
    assert [stage.until for stage in config.curriculum] == [0.1, 0.25, 0.4, 1.0]
    assert config.agent.encoder.log_dims == (0, 1)
    base = config_to_dict(config)
    bad = dict(
        base,
        curriculum=[
            {"until": 0.5, "params": {"start_distance_max": 1.0}},
            {"until": 0.4, "params": {"n_puffs": 512}},
            {"until": 0.9, "params": {"start_distnce_min": 1.0}},
        ],
    )
    message = _rejection(bad)
    assert "'curriculum[0].params'" in message
    assert "start_distance_max (1.0) must be >= start_distance_min" in message
    assert "'curriculum[1].until' must be in (0.5, 1]" in message
    assert "may not change static parameters (shapes or code paths): ['n_puffs']" in message
    assert "did you mean 'start_distance_min'?" in message


@pytest.mark.parametrize(
    ("old_id", "mode", "new_id"),
    [
        ("neuroethology/TMaze-v0", "spatial", "neuroethology/SpatialTMaze-v0"),
        ("neuroethology/PatchForaging-v0", "spatial", "neuroethology/SpatialPatchForaging-v0"),
        ("neuroethology/TMaze-v0", "discrete", "neuroethology/TMaze-v0"),
    ],
)
def test_a_config_with_a_mode_resolves_to_the_environment_of_that_task(old_id, mode, new_id):
    # Configs and runs written before TMaze and PatchForaging were split by task name a mode; the resolved
    # config (a run's config.yaml) names the environment actually built, and resolving it again is stable,
    # so `train --resume` with the old config file finds no difference.
    from neuroethology.training.run import resolved_config

    data = tiny_train()
    data["env"] = {"id": old_id, "params": {"mode": mode}}
    config = config_from_dict(TrainConfig, data)
    resolved = resolved_config(config)
    assert resolved.env.id == new_id and "mode" not in resolved.env.params
    assert resolved_config(resolved) == resolved
