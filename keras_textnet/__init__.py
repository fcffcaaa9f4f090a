"""keras_textnet: one Keras network that finds and reads the text lines of documents."""

from keras_textnet.charset import Charset
from keras_textnet.version import __version__

__all__ = ["Charset", "__version__"]
