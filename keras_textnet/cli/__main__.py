"""``python -m keras_textnet.cli``: the ``keras-textnet`` command."""

import sys

from keras_textnet.cli import main

sys.exit(main())
