"""The character set: which characters a model reads and the ids it uses.

Reserved ids
------------
* ``0`` is the **CTC blank**. It never stands for a character. Fixed-width label
  tensors are padded with it as well (``Charset.pad_id == Charset.blank_id``):
  a label's real length is always carried next to it, and since the blank can
  never be a target, a padded tail can never be mistaken for text.
* ``1 .. len(charset)`` are the characters, in the order given.

So a model over a charset has ``charset.num_classes == len(charset) + 1`` output
classes, with the blank at index 0 (the ``mask_index=0`` default of
``keras.ops.ctc_loss`` / ``keras.ops.ctc_decode``; ``blank_index=0`` for
``tf.nn.ctc_loss``).
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np

#: Printable ASCII (0x21..0x7E) plus the space: 95 characters.
DEFAULT_CHARACTERS = " " + "".join(chr(c) for c in range(0x21, 0x7F))


class CharsetError(ValueError):
    """A text cannot be encoded, or a charset definition is invalid."""


class Charset:
    """An ordered set of characters with CTC-ready integer ids.

    Args:
        characters: the characters, in id order (id ``i + 1`` for
            ``characters[i]``). A string or any sequence of one-character
            strings. Defaults to printable ASCII plus space.
        normalize: Unicode normalization applied before encoding and by
            :meth:`normalize` (the annotation format stores NFC).

    Example:

    >>> cs = Charset()
    >>> ids = cs.encode("Hi!")
    >>> cs.decode(ids)
    'Hi!'
    >>> cs.blank_id, cs.num_classes
    (0, 96)
    """

    blank_id = 0
    pad_id = 0

    def __init__(self, characters: str | Sequence[str] = DEFAULT_CHARACTERS,
                 normalize: str = "NFC"):
        chars = list(characters)
        if not chars:
            raise CharsetError("A charset needs at least one character; received an empty one.")
        for c in chars:
            if not isinstance(c, str) or len(c) != 1:
                raise CharsetError(
                    f"Charset entries must be single characters; received {c!r}.")
        seen = set()
        dupes = [c for c in chars if c in seen or seen.add(c)]
        if dupes:
            raise CharsetError(f"Charset has duplicate characters: {''.join(dupes)!r}.")
        if normalize not in ("NFC", "NFKC", "NFD", "NFKD"):
            raise CharsetError(
                f"normalize must be one of NFC, NFKC, NFD, NFKD; received {normalize!r}.")
        self.characters = "".join(chars)
        self.normalize_form = normalize
        self._to_id = {c: i + 1 for i, c in enumerate(chars)}
        self._lookup = np.array([""] + chars, dtype=object)

    # -- basic properties -------------------------------------------------
    def __len__(self) -> int:
        return len(self.characters)

    def __contains__(self, char: str) -> bool:
        return char in self._to_id

    def __eq__(self, other) -> bool:
        return (isinstance(other, Charset) and other.characters == self.characters
                and other.normalize_form == self.normalize_form)

    def __hash__(self) -> int:
        return hash((self.characters, self.normalize_form))

    def __repr__(self) -> str:
        return f"Charset({len(self)} characters, normalize={self.normalize_form!r})"

    @property
    def num_classes(self) -> int:
        """Number of model output classes: the characters plus the CTC blank."""
        return len(self) + 1

    # -- text helpers -----------------------------------------------------
    def normalize(self, text: str) -> str:
        return unicodedata.normalize(self.normalize_form, text)

    def unknown_characters(self, text: str) -> str:
        """The characters of ``text`` (after normalization) this charset lacks."""
        return "".join(sorted({c for c in self.normalize(text) if c not in self._to_id}))

    def can_encode(self, text: str) -> bool:
        return not self.unknown_characters(text)

    # -- encode / decode --------------------------------------------------
    def encode(self, text: str) -> list[int]:
        """Character ids of ``text`` (normalized first).

        Raises:
            CharsetError: naming the characters that are not in the charset.
        """
        text = self.normalize(text)
        try:
            return [self._to_id[c] for c in text]
        except KeyError:
            raise CharsetError(
                f"Text {text!r} has characters outside the charset: "
                f"{self.unknown_characters(text)!r}.") from None

    def encode_padded(self, text: str, max_length: int) -> tuple[np.ndarray, int]:
        """Ids padded with :attr:`pad_id` to ``max_length``, and the real length.

        Raises:
            CharsetError: if the text does not fit in ``max_length``.
        """
        ids = self.encode(text)
        if len(ids) > max_length:
            raise CharsetError(
                f"Text of {len(ids)} characters does not fit max_length={max_length}: {text!r}.")
        out = np.full((max_length,), self.pad_id, dtype=np.int32)
        out[:len(ids)] = ids
        return out, len(ids)

    def decode(self, ids: Iterable[int], length: int | None = None) -> str:
        """Text of ``ids``; blanks/padding are dropped. ``length`` truncates first.

        Raises:
            CharsetError: for an id outside ``[0, num_classes)``.
        """
        ids = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids,
                         dtype=np.int64).reshape(-1)
        if length is not None:
            ids = ids[:int(length)]
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_classes):
            bad = ids[(ids < 0) | (ids >= self.num_classes)][0]
            raise CharsetError(
                f"Id {int(bad)} is outside this charset's range [0, {self.num_classes}).")
        return "".join(self._lookup[ids[ids != self.blank_id]])

    def decode_batch(self, ids: np.ndarray, lengths: Iterable[int] | None = None) -> list[str]:
        ids = np.asarray(ids)
        if lengths is None:
            return [self.decode(row) for row in ids]
        return [self.decode(row, n) for row, n in zip(ids, lengths)]

    # -- serialization ----------------------------------------------------
    def get_config(self) -> dict:
        return {"characters": self.characters, "normalize": self.normalize_form}

    @classmethod
    def from_config(cls, config: dict) -> "Charset":
        return cls(**config)


#: Letters and digits only, handy for identifier-style models.
ALPHANUMERIC = string.digits + string.ascii_letters
