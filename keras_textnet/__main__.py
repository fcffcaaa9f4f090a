"""``python -m keras_textnet``: the ``keras-textnet`` command."""

import sys

from keras_textnet.cli import main

sys.exit(main())
