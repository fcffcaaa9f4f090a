"""Every contract test of test_dynamic_roi_pooling.py, run once per implementation.

``test_dynamic_roi_pooling.py`` tests the public function under the default (``auto``)
choice; here each of its tests runs with the custom op forced and with pure TF forced, so
that both implementations meet the same golden values, oracle, gradient, graph and layer
tests. The TFLite/ONNX export test is left out: exports hold the pure-TF implementation only
(a custom op cannot be converted).
"""

import pytest
import test_dynamic_roi_pooling as contract
from test_custom_op import custom_ops  # noqa: F401 (the session fixture that builds the op)

from keras_textnet.ops import custom_op

_LEFT_OUT = {"test_converts_to_tflite_builtins_and_onnx"}

for _name in dir(contract):
    if _name.startswith("test_") and _name not in _LEFT_OUT:
        globals()[_name] = getattr(contract, _name)


@pytest.fixture(autouse=True, params=["custom", "tf"])
def implementation(request):
    """Forces one implementation around each test (the custom op is built once per session)."""
    if request.param == "custom":
        request.getfixturevalue("custom_ops")
    with custom_op.pooling_implementation(request.param):
        yield request.param
