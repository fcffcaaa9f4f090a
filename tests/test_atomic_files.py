"""Files written whole or not at all, and no litter from a write cut short."""

import os
import subprocess
import sys

import pytest

from keras_textnet.atomic_files import (TEMP_SUFFIX, remove_stale_temps, save_atomic, temp_path,
                                        write_atomic)
from keras_textnet.data.annotation import AnnotationSet


def test_write_replaces_whole_and_leaves_nothing_else(tmp_path):
    path = tmp_path / "sub" / "a.json"
    write_atomic(path, "first")
    write_atomic(path, b"second")
    assert path.read_text() == "second"
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.json"]


@pytest.mark.parametrize("error", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_a_save_cut_short_keeps_the_old_file_and_no_temp(tmp_path, error):
    path = tmp_path / "model.keras"
    path.write_text("old")
    seen = []

    def save(tmp):
        seen.append(tmp)
        tmp.write_text("half")
        raise error

    with pytest.raises(type(error)):
        save_atomic(path, save)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]
    assert seen[0].suffix == ".keras" and seen[0].name.startswith(".model.keras.")


def test_a_killed_writer_s_temp_is_removed_by_the_next_write(tmp_path):
    path = tmp_path / "annotations.json"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = [tmp_path / f".annotations.json.{dead}{TEMP_SUFFIX}",
             tmp_path / f".annotations.json.{dead}{TEMP_SUFFIX}.json"]
    live = tmp_path / f".annotations.json.{os.getppid()}{TEMP_SUFFIX}"  # still running: kept
    other = tmp_path / f".other.json.{dead}{TEMP_SUFFIX}"                # another file's
    for p in (*stale, live, other):
        p.write_text("x")
    AnnotationSet(images=[]).save(path)
    assert not any(p.exists() for p in stale)
    assert live.exists() and other.exists()
    assert remove_stale_temps(path) == []
    assert temp_path(path).name == f".annotations.json.{os.getpid()}{TEMP_SUFFIX}"
