"""Atomic training checkpoints: a kill at any moment leaves the last complete one valid.

Layout of ``directory``::

    ckpt-00000200/variables.index                 tf.train.Checkpoint of the model and
    ckpt-00000200/variables.data-00000-of-00001   optimizer (step counter, slots, ...)
    ckpt-00000200/state.json                      {"step": 200, ...} (whatever the run keeps)
    ckpt-00000400/...

A checkpoint is written into ``.tmp-ckpt-00000400-<pid>/``, every file and the
folder are flushed to disk (``fsync``), and only then is the folder renamed to
``ckpt-00000400`` (one atomic ``rename``) and the parent folder flushed. So a
folder named ``ckpt-*`` is always complete; a process killed while writing
leaves only a ``.tmp-*`` folder, removed at the next start. Old checkpoints are
first renamed to ``.trash-*`` (atomic), then deleted.

In multi-worker training every worker must save (reading distributed
variables can be a collective operation), but only one writes:
``writer=False`` saves into a private temporary folder that is deleted.

>>> manager = CheckpointManager("run/checkpoints", {"model": model,       # doctest: +SKIP
...                                                "optimizer": model.optimizer}, keep=3)
>>> manager.save(200, {"step": 200})                                      # doctest: +SKIP
>>> state = manager.restore_latest()     # None when there is none        # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import warnings
from pathlib import Path

import tensorflow as tf

from keras_textnet.atomic_files import fsync_path, write_atomic

_NAME = re.compile(r"^ckpt-(\d{8,})$")
STATE_FILE = "state.json"
VARIABLES = "variables"


def write_json_atomic(path, obj) -> None:
    """Writes JSON to ``path`` whole or not at all (:mod:`keras_textnet.atomic_files`)."""
    write_atomic(path, json.dumps(obj, indent=1))


class CheckpointManager:
    """Writes, lists, prunes and restores atomic checkpoints of ``trackables``.

    Args:
        directory: the checkpoint folder (created by the writer).
        trackables: ``{name: object}`` for ``tf.train.Checkpoint`` (a model,
            its optimizer): a checkpoint that lacks one of them is not read.
        optional: ``{name: object}`` written beside them, but read only where a
            checkpoint has them (a weight average that a resumed run added).
        keep: how many of the newest checkpoints to keep.
        writer: whether this process writes into ``directory`` (the chief);
            other workers save into a temporary folder and delete it.
    """

    def __init__(self, directory, trackables: dict, keep: int = 3, writer: bool = True,
                 optional: dict | None = None):
        if int(keep) < 1:
            raise ValueError(f"keep must be >= 1; received {keep!r}")
        self.directory = Path(directory)
        self.keep = int(keep)
        self.writer = bool(writer)
        self.optional = dict(optional or {})
        if set(self.optional) & set(trackables):
            raise ValueError("a name is both required and optional: "
                             f"{sorted(set(self.optional) & set(trackables))}")
        self.checkpoint = tf.train.Checkpoint(**trackables, **self.optional)
        self._required = tf.train.Checkpoint(**trackables)
        self.restored_optional: list[str] = []
        if self.writer:
            self.directory.mkdir(parents=True, exist_ok=True)
            self.remove_leftovers()

    # ------------------------------------------------------------ listing
    def checkpoints(self) -> list[tuple[int, Path]]:
        """Complete checkpoints, ``(step, folder)``, oldest first."""
        if not self.directory.is_dir():
            return []
        found = []
        for entry in self.directory.iterdir():
            match = _NAME.match(entry.name)
            if match and entry.is_dir():
                found.append((int(match.group(1)), entry))
        return sorted(found)

    def latest(self) -> tuple[int, Path] | None:
        found = self.checkpoints()
        return found[-1] if found else None

    @staticmethod
    def read_state(folder) -> dict:
        return json.loads((Path(folder) / STATE_FILE).read_text(encoding="utf-8"))

    def remove_leftovers(self) -> list[str]:
        """Deletes ``.tmp-*`` (interrupted writes) and ``.trash-*`` folders; returns their names."""
        removed = []
        for entry in self.directory.iterdir():
            if entry.name.startswith((".tmp-ckpt-", ".trash-ckpt-")):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry.name)
        return removed

    # ------------------------------------------------------------- saving
    def save(self, step: int, state: dict) -> Path | None:
        """Writes the checkpoint of ``step`` with ``state`` (JSON); returns its folder.

        Returns ``None`` on a non-writer (it saved into a scratch folder, now
        deleted), or when a complete checkpoint of ``step`` already exists.
        """
        name = f"ckpt-{int(step):08d}"
        if not self.writer:
            scratch = Path(tempfile.mkdtemp(prefix="textnet-worker-ckpt-"))
            try:
                self.checkpoint.write(str(scratch / VARIABLES))
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            return None
        final = self.directory / name
        if final.is_dir():
            return None
        tmp = self.directory / f".tmp-{name}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        self.checkpoint.write(str(tmp / VARIABLES))
        with open(tmp / STATE_FILE, "w", encoding="utf-8") as f:
            json.dump({**state, "step": int(step)}, f, indent=1)
        for entry in tmp.iterdir():
            fsync_path(entry)
        fsync_path(tmp)
        os.rename(tmp, final)
        fsync_path(self.directory)
        self._prune()
        return final

    def _prune(self):
        for _, folder in self.checkpoints()[:-self.keep]:
            trash = folder.with_name(f".trash-{folder.name}-{os.getpid()}")
            os.rename(folder, trash)
            shutil.rmtree(trash, ignore_errors=True)

    # ---------------------------------------------------------- restoring
    def restore(self, folder) -> dict:
        """Loads the variables of checkpoint ``folder``; returns its state.

        ``restored_optional`` names the optional trackables it held.
        """
        folder = Path(folder)
        prefix = str(folder / VARIABLES)
        status = self._required.read(prefix)
        status.assert_existing_objects_matched()
        status.expect_partial()
        state = self.read_state(folder)
        names = {name.split("/", 1)[0] for name in
                 tf.train.load_checkpoint(prefix).get_variable_to_shape_map()}
        self.restored_optional = sorted(n for n in self.optional if n in names)
        for name in self.restored_optional:
            tf.train.Checkpoint(**{name: self.optional[name]}).read(prefix).expect_partial()
        return state

    def restore_latest(self) -> dict | None:
        """Restores the newest readable checkpoint (older ones if it is damaged).

        Returns its state, or ``None`` when there is no checkpoint.
        """
        for step, folder in reversed(self.checkpoints()):
            try:
                return self.restore(folder)
            except (tf.errors.OpError, OSError, ValueError, AssertionError) as e:
                warnings.warn(f"checkpoint {folder} cannot be read ({type(e).__name__}: "
                              f"{str(e).splitlines()[0] if str(e) else ''}); trying an older one",
                              stacklevel=2)
        return None


__all__ = ["CheckpointManager", "fsync_path", "write_json_atomic"]
