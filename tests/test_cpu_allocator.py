"""TensorFlow's BFC allocator for CPU tensors: asked for by the command, honoured by TensorFlow."""

import json
import os
import subprocess
import sys

from keras_textnet.cpu_allocator import BFC_ENV, bfc_requested, use_bfc_cpu_allocator

#: Runs one op, then says whether TensorFlow's CPU allocator is the BFC one (only it has stats).
_PROBE = ("import tensorflow as tf\n"
          "tf.matmul(tf.ones([64, 64]), tf.ones([64, 64]))\n"
          "try:\n"
          "    tf.config.experimental.get_memory_info('CPU:0')\n"
          "    print('bfc')\n"
          "except ValueError:\n"
          "    print('pool')\n")


def _python(code, **env_overrides):
    env = {k: v for k, v in os.environ.items() if k != BFC_ENV}
    env.update(env_overrides, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


def test_asks_for_bfc_unless_the_user_chose():
    env = {}
    assert use_bfc_cpu_allocator(env) is True and env == {BFC_ENV: "true"}
    env = {BFC_ENV: "false"}
    assert use_bfc_cpu_allocator(env) is False and env == {BFC_ENV: "false"}
    assert bfc_requested({BFC_ENV: " 1 "}) and not bfc_requested({})


def test_tensorflow_honours_the_request():
    # Fails if a TensorFlow release stops reading the variable: then the command's
    # pages would silently be slow again.
    code = "from keras_textnet.cpu_allocator import use_bfc_cpu_allocator\n" \
           "use_bfc_cpu_allocator()\n" + _PROBE
    # (One process: TensorFlow's import is most of this test's time. Without the
    # variable, TensorFlow's pool allocator keeps no statistics and the probe says "pool".)
    assert _python(code) == ["bfc"]


def test_the_command_asks_for_it_and_a_caller_passing_argv_is_left_alone(tmp_path, write_png):
    import numpy as np

    write_png("a.png", np.full((40, 80, 3), 255, np.uint8))
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps({"images": [{"file": "a.png", "width": 80, "height": 40,
                                           "words": []}]}), encoding="utf-8")
    code = ("import os, sys\nfrom keras_textnet import cli\n"
            f"status = cli.main(['data', 'validate', {str(ann)!r}])\n"
            f"print('ENV', status, os.environ.get({BFC_ENV!r}, 'unset'))\n"
            f"sys.argv = ['keras-textnet', 'data', 'validate', {str(ann)!r}]\n"
            "status = cli.main()\n"
            f"print('ENV', status, os.environ.get({BFC_ENV!r}, 'unset'))\n")

    def marked(words):
        return [words[i + 1:i + 3] for i, w in enumerate(words) if w == "ENV"]

    assert marked(_python(code)) == [["0", "unset"], ["0", "true"]]
    assert marked(_python(code, **{BFC_ENV: "false"}))[-1] == ["0", "false"]
