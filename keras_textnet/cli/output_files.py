"""Output files that lose nothing: checked before any work, written whole or not at all.

* :func:`check_output_file`: an ``--out`` file is checked (and its folder
  made) before the first page is read, so a path that cannot be written
  fails in a second, not after an hour of work;
* :func:`atomic_write`: the final file is written whole or not at all, without
  litter (:mod:`keras_textnet.atomic_files`), a failure is one line;
* :class:`ResultLog`: a JSON Lines file, one result per line, each line
  flushed and synced as it is written; :func:`read_result_log` reads one
  back, ignoring a half-written last line (a kill in the middle of a write).
"""

from __future__ import annotations

import errno
import json
import os
from contextlib import suppress
from pathlib import Path

from keras_textnet.atomic_files import remove_stale_temps, temp_path, write_atomic
from keras_textnet.cli.errors import CommandError


def atomic_write(path: str | os.PathLike, data: bytes | str) -> None:
    """Writes ``data`` to ``path`` whole or not at all (:func:`keras_textnet.atomic_files.write_atomic`).

    Raises:
        CommandError: the file cannot be written (one line naming it and why).
    """
    try:
        write_atomic(path, data)
    except OSError as e:
        raise CommandError(f"{path}: cannot write ({e.strerror or e})") from None


def check_output_file(out: str | os.PathLike, option: str = "--out") -> Path:
    """Checks that ``out`` can be written as a file, before any work; makes its folder.

    Refuses, with one line: an existing folder (or a name ending in ``/``), an
    existing path that is not a regular file (a device, a FIFO: the atomic
    rename would replace it), a parent that is a file, and a folder where a
    file cannot be created (read-only, no permission: a probe file is created
    and removed). Stale temporary files of ``out`` are removed.

    Raises:
        CommandError: naming ``option``, the path and what is wrong.
    """
    text = str(out)
    path = Path(out)
    if text.endswith(("/", os.sep)) or path.is_dir():
        raise CommandError(f"{option} {text}: is a folder; give a file name, such as "
                           f"{path / 'predictions.json'}")
    if os.path.lexists(path) and not path.is_file():
        what = "not a regular file"
        if path.is_symlink():
            try:
                os.stat(path)
            except OSError as e:
                what = ("a loop of symbolic links" if e.errno == errno.ELOOP else
                        "a broken symbolic link")
        raise CommandError(f"{option} {text}: is {what}; give a file to write (or - for "
                           f"standard output)")
    folder = path.parent
    ancestor = folder
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if ancestor.exists() and not ancestor.is_dir():
        raise CommandError(f"{option} {text}: cannot make its folder: {ancestor} is a file")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CommandError(f"{option} {text}: cannot make its folder {folder} "
                           f"({e.strerror or e})") from None
    remove_stale_temps(path)
    probe = temp_path(path)
    try:
        with open(probe, "wb"):
            pass
    except OSError as e:
        raise CommandError(f"{option} {text}: cannot write in {folder} "
                           f"({e.strerror or e})") from None
    finally:
        with suppress(OSError):
            probe.unlink()
    return path


def result_log_path(out: str | os.PathLike) -> Path:
    """The JSON Lines log beside ``out``: ``preds.json`` -> ``preds.jsonl``; else ``NAME.jsonl``."""
    out = Path(out)
    if out.suffix.lower() == ".json":
        return out.with_suffix(".jsonl")
    return out.with_name(out.name + ".jsonl")


def read_result_log(path: str | os.PathLike) -> tuple[list[dict], list[str]]:
    """The JSON objects of a JSON Lines file, and one line of warning per line skipped.

    A last line without its newline that does not parse is what a kill in the
    middle of a write leaves: it is skipped without a warning. A missing file
    gives no entries.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return [], []
    except OSError as e:
        raise CommandError(f"{path}: cannot read ({e.strerror or e})") from None
    entries, warnings = [], []
    lines = raw.split(b"\n")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        last_unfinished = number == len(lines)  # no newline after it
        try:
            entry = json.loads(line.decode("utf-8"))
        except (ValueError, RecursionError):
            entry = None
        if isinstance(entry, dict):
            entries.append(entry)
        elif not last_unfinished:
            warnings.append(f"{path}, line {number}: not a JSON object; skipped")
    return entries, warnings


class ResultLog:
    """A JSON Lines file written one synced line per result.

    Args:
        path: the file.
        entries: lines to start the file with (``None``: append to what is there).
    """

    def __init__(self, path: str | os.PathLike, entries: list[dict] | None = None):
        self.path = Path(path)
        if entries is not None:
            atomic_write(self.path, "".join(self._line(e) for e in entries))
        try:
            self._file = open(self.path, "a", encoding="utf-8")
        except OSError as e:
            raise CommandError(f"{self.path}: cannot write ({e.strerror or e})") from None

    @staticmethod
    def _line(entry: dict) -> str:
        return json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"

    def add(self, entry: dict) -> None:
        """Appends ``entry`` as one line, flushed and synced to the disk."""
        try:
            self._file.write(self._line(entry))
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as e:
            raise CommandError(f"{self.path}: cannot write ({e.strerror or e})") from None

    def close(self) -> None:
        with suppress(OSError):
            self._file.close()

    def __enter__(self) -> "ResultLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = ["ResultLog", "TEMP_SUFFIX", "atomic_write", "check_output_file", "read_result_log",
           "remove_stale_temps", "result_log_path"]
