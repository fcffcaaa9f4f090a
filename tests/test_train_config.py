"""The training configuration: defaults, YAML, overrides, and errors that name the key."""

import pytest
import yaml

from keras_textnet.cli import main
from keras_textnet.training.config import (AnnotationSourceConfig, ConfigError,
                                           SyntheticSourceConfig, TFRecordSourceConfig,
                                           TrainingConfig, parse_assignment)


def test_defaults_train_the_default_preset_on_synthetic_pages():
    config = TrainingConfig.load(None)
    assert config.model.preset == "mobilenet"
    assert config.data.image_size == [512, 512] and config.data.batch_size == 2
    assert [type(s) for s in config.data.sources] == [SyntheticSourceConfig]
    assert config.validation.source is None and config.precision == "float32"
    assert config.distribution.strategy == "default"


def test_yaml_sections_mix_and_relative_paths(tmp_path):
    (tmp_path / "cfg").mkdir()
    path = tmp_path / "cfg" / "run.yaml"
    path.write_text(yaml.safe_dump({
        "model": {"preset": "tiny", "loss_weights": {"ctc": 2.0},
                  "settings": {"max_width": 128}},
        "data": {"batch_size": 8, "image_size": 256, "sources": [
            {"kind": "synthetic", "weight": 3, "page_size": [[800, 1200], [600, 900]],
             "layouts": {"invoice": 2, "prose": 1}},
            {"kind": "annotations", "path": "../data/train.json"},
            {"kind": "tfrecords", "path": ["a.tfrecord", "/abs/b.tfrecord"]}]},
        "validation": {"source": {"kind": "annotations", "path": "val.json"}, "batches": 4},
        "schedule": {"steps": 1000, "decay": "constant", "clipnorm": None},
        "precision": "mixed_float16"}))
    config = TrainingConfig.load(path)
    synthetic, annotations, records = config.data.sources
    assert synthetic.weight == 3.0 and synthetic.page_size == [[800, 1200], [600, 900]]
    assert annotations.path == str(tmp_path / "cfg" / ".." / "data" / "train.json")
    assert records.path == [str(tmp_path / "cfg" / "a.tfrecord"), "/abs/b.tfrecord"]
    assert isinstance(records, TFRecordSourceConfig)
    assert isinstance(config.validation.source, AnnotationSourceConfig)
    assert config.data.image_size == [256, 256] and config.schedule.clipnorm is None
    assert config.model.loss_weights == {"ctc": 2.0}
    # The resolved config round-trips through YAML (the run folder keeps it).
    again = TrainingConfig.from_dict(yaml.safe_load(config.to_yaml()))
    assert again == config and not again.differences(config)


@pytest.mark.parametrize("document, message", [
    ({"data": {"batch_size": "eight"}},
     "key 'data.batch_size': expected a positive integer; received 'eight'"),
    ({"data": {"sourcs": []}}, "key 'data.sourcs': unknown key (did you mean 'sources'?)"),
    ({"schedul": {}}, "key 'schedul': unknown key (did you mean 'schedule'?)"),
    ({"data": {"sources": [{"kind": "pdfs"}]}}, "key 'data.sources.0.kind': expected one of"),
    ({"data": {"sources": [{"kind": "annotations"}]}},
     "key 'data.sources.0.path': the 'annotations' source needs 'path'"),
    ({"data": {"sources": [{"kind": "synthetic", "weight": 0}]}},
     "key 'data.sources.0.weight': expected a number > 0; received 0"),
    ({"data": {"sources": []}}, "key 'data.sources': expected a non-empty list of sources"),
    ({"model": {"preset": "huge"}}, "key 'model.preset': expected one of tiny, mobilenet"),
    ({"model": {"loss_weights": {"ctcc": 1.0}}}, "unknown loss(es) ['ctcc']"),
    ({"data": {"image_size": [16, 16]}}, "key 'data.image_size': expected [height, width]"),
    ({"precision": "fp8"}, "key 'precision': expected one of 'float32', 'mixed_float16'"),
    ({"schedule": {"steps": 100, "warmup_steps": 100}},
     "key 'schedule.warmup_steps': must be below schedule.steps (100); received 100"),
    ({"distribution": {"strategy": "tpu"}}, "key 'distribution.strategy'"),
])
def test_errors_name_the_file_the_key_and_the_value(tmp_path, document, message):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(ConfigError) as info:
        TrainingConfig.load(path)
    assert str(info.value).startswith(f"{path}, key ") and message in str(info.value)


def test_unreadable_and_non_mapping_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the config file"):
        TrainingConfig.load(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a mapping of sections"):
        TrainingConfig.load(tmp_path / "list.yaml")
    (tmp_path / "broken.yaml").write_text("data: {batch_size: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        TrainingConfig.load(tmp_path / "broken.yaml")


def test_overrides_come_from_the_command_line():
    assert parse_assignment("data.batch_size=8") == ("data.batch_size", 8)
    assert parse_assignment("data.image_size=[256, 320]") == ("data.image_size", [256, 320])
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        parse_assignment("data.batch_size")
    config = TrainingConfig.load(None, overrides={"data.sources.0.weight": 2.5,
                                                  "schedule.steps": 50})
    assert config.data.sources[0].weight == 2.5 and config.schedule.steps == 50
    with pytest.raises(ConfigError, match="^the command line, key 'schedule.step': unknown"):
        TrainingConfig.load(None, overrides={"schedule.step": 50})
    with pytest.raises(ConfigError, match="'data.sources' is a list of 1; give an index 0..0"):
        TrainingConfig.load(None, overrides={"data.sources.x.weight": 1})


def test_cli_prints_the_resolved_config_and_reports_errors_in_one_line(tmp_path, capsys):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({"model": {"preset": "tiny"}}))
    assert main(["train", "--config", str(path), "--out", str(tmp_path / "run"),
                 "--batch-size", "4", "--set", "schedule.steps=7", "--print-config"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["model"]["preset"] == "tiny" and printed["data"]["batch_size"] == 4
    assert printed["schedule"]["steps"] == 7
    assert not (tmp_path / "run").exists()
    assert main(["train", "--out", str(tmp_path / "run"), "--set", "data.batch_size=0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("keras-textnet: error: the command line, key 'data.batch_size': expected a "
                   "positive integer; received 0")


def test_the_shipped_configs_load():
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "training" / "configs"
    paths = sorted(folder.glob("*.yaml"))
    assert paths
    for path in paths:
        TrainingConfig.load(path)
