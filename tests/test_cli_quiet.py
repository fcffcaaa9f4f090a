"""No TensorFlow C++ log noise on the command's stderr (issue 12, part 6)."""

import json
import os
import subprocess
import sys

import numpy as np

#: Lines TensorFlow's C++ side prints while it loads or on its first op.
NOISE = ("failed call to cuInit", "oneDNN custom operations are on",
         "Could not find cuda drivers", "absl::InitializeLog()",
         "To enable the following instructions", "cpu_feature_guard")


def _tiny_annotations(tmp_path, write_png):
    img = np.full((60, 120, 3), 255, np.uint8)
    img[10:20, 10:50] = 0
    write_png("a.png", img)
    doc = {"images": [{"file": "a.png", "width": 120, "height": 60, "words": [
        {"box": [10, 10, 50, 20], "text": "hello", "ignore": False, "line": 0}]}]}
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _run(args, env_overrides):
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "KERAS_TEXTNET_TRACEBACK")}
    env.update(env_overrides)
    return subprocess.run([sys.executable, "-m", "keras_textnet", *args], capture_output=True,
                          text=True, env=env, timeout=300)


def _python(code, env=None):
    """Runs ``python -c code`` (in ``env``, default this process's environment)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)


def test_a_command_importing_tensorflow_has_no_tensorflow_log_lines(tmp_path, write_png):
    path = _tiny_annotations(tmp_path, write_png)
    out = tmp_path / "out"
    out.mkdir()
    # data to-tfrecord imports TensorFlow (tf.io.TFRecordWriter) and runs ops.
    done = _run(["data", "to-tfrecord", str(path), "--out", str(out / "s"), "--shards", "1"], {})
    assert done.returncode == 0, done.stderr
    assert (out / "s-00000-of-00001.tfrecord").is_file()
    leaked = [line for line in done.stderr.splitlines() if any(n in line for n in NOISE)]
    assert not leaked, leaked
    assert "wrote 1 images" in done.stdout


def test_stderr_comes_back_after_the_quiet_import():
    code = ("import os\nfrom keras_textnet.cli import _stderr_silenced\n"
            "with _stderr_silenced():\n    os.write(2, b'hidden\\n')\n"
            "os.write(2, b'shown\\n')\n")
    done = _python(code)
    assert done.returncode == 0 and done.stderr == "shown\n", done.stderr


def test_a_level_the_user_set_wins_and_leaves_stderr_alone():
    code = ("import os, sys\nfrom keras_textnet import cli\ncli._quiet_tensorflow()\n"
            "assert os.environ['TF_CPP_MIN_LOG_LEVEL'] == '1'\n"
            "assert not any(isinstance(f, cli._QuietTensorFlowImport) for f in sys.meta_path)\n")
    for env in ({"TF_CPP_MIN_LOG_LEVEL": "1"},
                {"TF_CPP_MIN_LOG_LEVEL": "1", "KERAS_TEXTNET_TRACEBACK": "1"}):
        done = _python(code, env={**os.environ, **env})
        assert done.returncode == 0, done.stderr
    unset = {k: v for k, v in os.environ.items()
             if k not in ("TF_CPP_MIN_LOG_LEVEL", "KERAS_TEXTNET_TRACEBACK")}
    code = ("import os, sys\nfrom keras_textnet import cli\n"
            "os.environ['KERAS_TEXTNET_TRACEBACK'] = '1'\ncli._quiet_tensorflow()\n"
            "assert os.environ['TF_CPP_MIN_LOG_LEVEL'] == '3'\n"
            "assert not any(isinstance(f, cli._QuietTensorFlowImport) for f in sys.meta_path)\n")
    done = _python(code, env=unset)
    assert done.returncode == 0, done.stderr


def test_help_does_not_import_tensorflow():
    code = ("import sys\nfrom keras_textnet.cli import main\n"
            "try:\n    main(['read', '--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported for --help'\n")
    done = _python(code)
    assert done.returncode == 0, done.stderr


def test_keras_loads_without_pyplot_in_the_command_and_pyplot_still_works():
    # The command's process skips Keras's import of matplotlib.pyplot (start-up time,
    # benchmarks/first_page.py); an import of pyplot afterwards, ours or a user's, works.
    code = ("import sys\nfrom keras_textnet import cli\ncli._skip_pyplot_in_keras()\n"
            "import keras\n"
            "assert 'matplotlib.pyplot' not in sys.modules, 'Keras imported pyplot'\n"
            "import keras.src.visualization.plot_image_gallery as gallery\n"
            "assert gallery.plt is None\n"
            "import matplotlib.pyplot as plt\n"
            "assert plt.figure is not None\n"
            "assert not any(isinstance(f, (cli._NoPyplotFor, cli._RefusePyplot)) "
            "for f in sys.meta_path), sys.meta_path\n")
    done = _python(code)
    assert done.returncode == 0, done.stderr


def test_read_ends_its_process_early_with_every_byte_written(tmp_path):
    # `read` ends with os._exit (no interpreter teardown): what it printed into a pipe,
    # more than the stdout buffer, must still arrive whole, and the status be 0.
    from pathlib import Path

    page = Path(__file__).resolve().parents[1] / "docs" / "examples" / "page.png"
    done = _run(["read", str(page), "--format", "json"], {})
    assert done.returncode == 0, done.stderr
    assert len(done.stdout) > 8192
    doc = json.loads(done.stdout)
    words = [w for img in doc.get("images", [doc]) for w in img["words"]]  # one page: one record
    assert len(words) > 20
    assert "Traceback" not in done.stderr
