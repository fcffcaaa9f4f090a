"""keras-textnet train: a run, its outputs, stopping and resuming (SIGKILL, SIGTERM, time).

The default suite drives the real trainer with a small model (it traces in a
second) and runs TextNet through the command once; the slow test kills a real
TextNet training process and checks that the resumed run ends exactly where
an uninterrupted one does.
"""

import json
import os
import signal
import subprocess
from pathlib import Path

import keras
import numpy as np
import pytest

from keras_textnet.cli import main
from keras_textnet.data.synthetic.generator import SyntheticDocumentGenerator
from keras_textnet.data.synthetic_dataset import write_synthetic_dataset
from keras_textnet.training.config import TrainingConfig
from keras_textnet.training.trainer import Trainer, TrainingError

from training_harness import (ROOT, build_small_model, fingerprints, history_steps,
                              kill_after_checkpoint, run, small_config, small_trainer_command,
                              summary, textnet_command, write_config)


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    root = tmp_path_factory.mktemp("train_pages")
    write_synthetic_dataset(SyntheticDocumentGenerator(page_size=(128, 160), degrade=0.0),
                            root, 4, seed=3, workers=1, progress=False)
    return root / "annotations.json"


def _annotation_config(pages, **sections):
    config = small_config(**sections)
    config["data"]["sources"] = [{"kind": "annotations", "path": str(pages)}]
    return config


def _train_small(config: dict, out, **kwargs):
    return Trainer(TrainingConfig.from_dict(config), out, verbose=0,
                   model_builder=kwargs.pop("model_builder", build_small_model),
                   log=lambda *_: None, **kwargs).run()


def test_textnet_trains_through_the_command(tmp_path, capsys):
    """The real model, one step: checkpoint, best model, model.keras, TensorBoard, rerun."""
    path = write_config(tmp_path, small_config(
        data={"image_size": [96, 96]}, schedule={"steps": 1, "steps_per_epoch": 1},
        logging={"every_steps": 1, "tensorboard": True}))
    out = tmp_path / "run"
    command = ["train", "--config", str(path), "--out", str(out), "--verbose", "0"]
    assert main(command) == 0
    assert "textnet_tiny: 471,570 parameters; strategy default" in capsys.readouterr().out
    done = summary(out)
    assert done["step"] == 1 and done["finished"] and done["optimizer_iterations"] == 1
    assert done["best"]["metric"] == "loss" and np.isfinite(done["best"]["value"])
    assert history_steps(out) == [1]
    assert (out / "history.csv").read_text().startswith("step,epoch,minutes,learning_rate,ctc,")
    assert list((out / "tensorboard" / "train").glob("events.out.tfevents.*"))
    assert (out / "checkpoints" / "ckpt-00000001" / "state.json").exists()
    assert TrainingConfig.load(out / "config.yaml").model.preset == "tiny"
    assert {"best.keras", "best.json", "model.keras"} <= {p.name for p in out.iterdir()}
    # The same command again: nothing left to do.
    assert main(command) == 0
    assert "already trained to step 1 of 1: nothing to do" in capsys.readouterr().out


def test_sigkill_then_the_same_command_resumes(tmp_path, pages):
    """A real SIGKILL of a training process, at whatever it was doing after step 2."""
    config = _annotation_config(pages, schedule={"steps": 30, "steps_per_epoch": 10},
                                checkpoint={"every_steps": 2, "keep": 2})
    path = write_config(tmp_path, config)
    out = tmp_path / "killed"
    command = small_trainer_command(path, out)
    at_kill = kill_after_checkpoint(command, out, step=2)
    resumed_from = at_kill["checkpoints"][-1]
    assert 2 <= resumed_from < 30

    result = run(command)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"resuming from checkpoint step {resumed_from} (optimizer step {resumed_from}, " \
           f"{2 * resumed_from} examples read)" in result.stdout
    done = summary(out)
    assert (done["step"], done["optimizer_iterations"], done["examples_seen"]) == (30, 30, 60)
    # The log was cut back to the checkpoint and continued: every step once.
    assert history_steps(out) == list(range(1, 31))
    assert [p.name for p in (out / "checkpoints").iterdir()] and not list(
        (out / "checkpoints").glob(".*"))
    # Exactly where an uninterrupted run ends, and not where a fresh start would.
    [resumed] = fingerprints(result.stdout)
    whole = _train_small(config, tmp_path / "whole")
    fresh = _train_small(_annotation_config(pages, schedule={"steps": 30 - resumed_from,
                                                              "steps_per_epoch": 10}),
                         tmp_path / "fresh")
    assert resumed == pytest.approx(whole.fingerprint, rel=1e-7, abs=1e-7)
    assert abs(resumed - fresh.fingerprint) > 1e-4


def test_time_budget_and_sigterm_stop_with_a_checkpoint(tmp_path, pages):
    config = _annotation_config(pages, schedule={"steps": 6, "steps_per_epoch": 3},
                                checkpoint={"every_steps": 4})
    out = tmp_path / "run"
    handler = signal.getsignal(signal.SIGTERM)
    first = _train_small(config, out, minutes=1e-6)
    assert (first.step, first.finished, first.stop_reason, first.exit_status) == \
        (1, False, "time", 0)
    assert summary(out)["stop_reason"] == "time" and (out / "checkpoints" / "ckpt-00000001")

    def build_then_terminate(cfg):
        os.kill(os.getpid(), signal.SIGTERM)   # as a cluster preempting the job would
        return build_small_model(cfg)
    second = _train_small(config, out, model_builder=build_then_terminate)
    assert (second.step, second.stop_reason, second.exit_status, second.resumed_from) == \
        (2, "SIGTERM", 143, 1)
    assert signal.getsignal(signal.SIGTERM) is handler
    third = _train_small(config, out)
    assert (third.step, third.finished, third.resumed_from) == (6, True, 2)
    assert history_steps(out) == [1, 2, 3, 4, 5, 6]
    assert keras.mixed_precision.global_policy().name == "float32"


def test_a_run_folder_refuses_another_model_or_process(tmp_path, pages):
    config = _annotation_config(pages, schedule={"steps": 2})
    out = tmp_path / "run"
    _train_small(config, out)
    other = json.loads(json.dumps(config))
    other["model"]["preset"] = "mobilenet"
    with pytest.raises(TrainingError, match="holds a run with model.preset='tiny'; this "
                                            "command says 'mobilenet'"):
        _train_small(other, out)
    holder = subprocess.Popen(["python", "-c", (
        "import fcntl, sys, time; f = open(sys.argv[1], 'a+'); "
        "fcntl.flock(f, fcntl.LOCK_EX); f.seek(0); f.truncate(); "
        "f.write('pid 1 on elsewhere'); f.flush(); "
        "print('locked', flush=True); time.sleep(60)"), str(out / ".lock")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(TrainingError, match="is in use by pid 1 on elsewhere"):
            _train_small(config, out)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def test_errors_are_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--strategy", "multi_worker", "--preset", "tiny",
                 "--verbose", "0"]) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert err.startswith("keras-textnet: error: strategy 'multi_worker' needs the TF_CONFIG")
    assert err.count("\n") == 1


@pytest.mark.slow
def test_textnet_sigkill_and_resume_end_where_an_uninterrupted_run_ends(tmp_path, pages):
    """TextNet on a mix of files and synthetic pages rendered by a worker process."""
    config = small_config(
        data={"image_size": [128, 128], "synthetic_workers": 1,
              "sources": [{"kind": "annotations", "path": str(pages), "weight": 1},
                          {"kind": "synthetic", "page_size": [160, 200], "weight": 1}]},
        schedule={"steps": 10, "steps_per_epoch": 4, "optimizer": "adamw",
                  "learning_rate": 1e-3},
        checkpoint={"every_steps": 2, "keep": 2},
        finish={"bn_recalibration_steps": 2})
    path = write_config(tmp_path, config)
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    # The uninterrupted reference trains alongside.
    reference = subprocess.Popen(textnet_command(path, whole), stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    try:
        at_kill = kill_after_checkpoint(textnet_command(path, killed), killed, step=4, delay=0.5)
        resumed_from = at_kill["checkpoints"][-1]
        assert 4 <= resumed_from < 10
        assert not at_kill["orphans"]     # the page-rendering worker ended with it
        result = run(textnet_command(path, killed))
        reference_out, _ = reference.communicate(timeout=900)
    finally:
        if reference.poll() is None:
            reference.kill()
            reference.wait()
    assert result.returncode == 0 and reference.returncode == 0, result.stdout[-3000:]
    assert f"resuming from checkpoint step {resumed_from}" in result.stdout
    done = summary(killed)
    assert (done["step"], done["optimizer_iterations"], done["examples_seen"]) == (10, 10, 20)
    assert history_steps(killed) == list(range(1, 11))
    [resumed], [uninterrupted] = fingerprints(result.stdout), fingerprints(reference_out)
    assert resumed == pytest.approx(uninterrupted, rel=1e-6)
    fresh = run(textnet_command(path, tmp_path / "fresh", "--steps", str(10 - resumed_from)))
    assert fresh.returncode == 0
    [restarted] = fingerprints(fresh.stdout)
    assert abs(restarted - resumed) > 1e-3 * abs(resumed)
    from keras_textnet.models.text_net import TextNet  # registers it for loading

    assert isinstance(keras.models.load_model(killed / "model.keras"), TextNet)
    print(f"killed after checkpoint {resumed_from} (history had {at_kill['history'][-1:]}); "
          f"resumed {resumed:.10e}, uninterrupted {uninterrupted:.10e}, "
          f"fresh {10 - resumed_from} steps {restarted:.10e}")
    assert Path(killed / "best.keras").exists()


@pytest.mark.slow
def test_textnet_trains_in_mixed_precision(tmp_path):
    from keras_textnet.training.trainer import build_text_net

    config = small_config(data={"image_size": [96, 96]},
                          schedule={"steps": 2, "steps_per_epoch": 2, "optimizer": "adamw",
                                    "learning_rate": 1e-3})
    config["precision"] = "mixed_float16"
    built = []

    def builder(cfg):
        built.append(build_text_net(cfg))
        return built[-1]
    result = Trainer(TrainingConfig.from_dict(config), tmp_path / "run", verbose=0,
                     model_builder=builder, log=lambda *_: None).run()
    assert result.finished and np.isfinite(result.fingerprint)
    [model] = built
    assert model.dtype_policy.name == "mixed_float16"
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert model.backbone.layers[-1].compute_dtype == "float16"
    rows = (tmp_path / "run" / "history.csv").read_text().splitlines()[1:]
    assert len(rows) == 2 and all(np.isfinite(float(v)) for r in rows for v in r.split(",")[3:])
    assert keras.mixed_precision.global_policy().name == "float32"
