"""Files written whole or not at all, and no litter when a write is cut short.

Every file the package writes for later (annotations, predictions, models,
checkpoints' state, a run's logs and config) goes through here: it is written
to a temporary file in the same folder (``.NAME.PID.ktn-tmp``), flushed to
disk, then renamed over the target (``os.replace``). A reader sees the old
file or the new one, never half of one. The temporary file is removed when the
write fails or is interrupted (an exception, Ctrl-C, SIGTERM turned into an
exception); one left by a killed process is removed by the next write of
``NAME`` (:func:`remove_stale_temps`).
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Callable

#: The end of every temporary file name written here (before a kept suffix).
TEMP_SUFFIX = ".ktn-tmp"


def temp_path(path: str | os.PathLike, keep_suffix: bool = False) -> Path:
    """This process's temporary file for ``path``: ``.NAME.PID.ktn-tmp``.

    With ``keep_suffix``, ``path``'s suffix follows (``.m.keras.PID.ktn-tmp.keras``),
    for writers that choose a format by it (Keras's ``model.save``).
    """
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}{TEMP_SUFFIX}"
                          f"{path.suffix if keep_suffix else ''}")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # our own temp file of an earlier, failed write
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0  # another user's process: leave its file alone
    return True


def remove_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Removes the temporary files of ``path`` that processes no longer running left.

    Returns the files removed.
    """
    path = Path(path)
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.(\d+){re.escape(TEMP_SUFFIX)}"
                         rf"({re.escape(path.suffix)})?$")
    removed = []
    try:
        names = os.listdir(path.parent)
    except OSError:
        return removed
    for name in names:
        match = pattern.match(name)
        if match and not _pid_alive(int(match.group(1))):
            with suppress(OSError):
                (path.parent / name).unlink()
                removed.append(path.parent / name)
    return removed


def fsync_path(path: str | os.PathLike) -> None:
    """Flushes a file or a folder to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_folder(folder: str | os.PathLike) -> None:
    """Makes a rename in ``folder`` durable (best effort: not every system can)."""
    with suppress(OSError, AttributeError):
        fsync_path(folder)


@contextmanager
def _replacing(path: Path, keep_suffix: bool):
    """Yields the temporary path; renames it over ``path`` if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    tmp = temp_path(path, keep_suffix)
    try:
        yield tmp
        fsync_path(tmp)
        os.replace(tmp, path)
    except BaseException:  # an error, Ctrl-C, SIGTERM: no litter
        with suppress(OSError):
            tmp.unlink()
        raise
    sync_folder(path.parent)


def write_atomic(path: str | os.PathLike, data: bytes | str) -> Path:
    """Writes ``data`` (``str``: as UTF-8) to ``path`` whole or not at all.

    Raises:
        OSError: the file cannot be written (nothing is left behind).
    """
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with _replacing(path, keep_suffix=False) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return path


def save_atomic(path: str | os.PathLike, save: Callable[[Path], object]) -> Path:
    """Runs ``save(temporary path)`` (e.g. ``model.save``), then renames it to ``path``.

    The temporary path keeps ``path``'s suffix. Whatever ``save`` raises,
    nothing is left behind and ``path`` keeps its old content.
    """
    path = Path(path)
    with _replacing(path, keep_suffix=True) as tmp:
        save(tmp)
    return path


__all__ = ["TEMP_SUFFIX", "fsync_path", "remove_stale_temps", "save_atomic", "sync_folder",
           "temp_path", "write_atomic"]
