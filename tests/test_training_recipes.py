"""The recipes of the top-level ``training/`` folder: configs that load, a README naming every file.

``keras-textnet train --config training/configs/NAME.yaml`` is the one road to
train; these tests keep each shipped config valid for it without training.
"""

import shutil
from pathlib import Path

import pytest

from keras_textnet.cli import main
from keras_textnet.training.config import TrainingConfig

ROOT = Path(__file__).resolve().parents[1]
TRAINING = ROOT / "training"
CONFIGS = sorted((TRAINING / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_shipped_config_loads(path):
    config = TrainingConfig.load(path)
    assert config.model.preset and config.data.sources


def test_synthetic_recipe_is_the_mobilenet_on_synthetic_pages(tmp_path, capsys):
    """What ``training/train_synthetic.py`` did, as a config of ``keras-textnet train``."""
    status = main(["train", "--config", str(TRAINING / "configs" / "synthetic_mobilenet.yaml"),
                   "--out", str(tmp_path / "run"), "--print-config"])
    assert status == 0
    config = TrainingConfig.load(TRAINING / "configs" / "synthetic_mobilenet.yaml")
    assert config.model.preset == "mobilenet"
    assert [s.kind for s in config.data.sources] == ["synthetic"]
    assert config.data.image_size == [512, 512] and config.data.batch_size == 2
    assert config.finish.bn_recalibration_steps > 0
    assert "preset: mobilenet" in capsys.readouterr().out
    assert not (tmp_path / "run").exists()  # --print-config trains nothing


def test_readme_names_every_file_of_the_folder():
    readme = (TRAINING / "README.md").read_text(encoding="utf-8")
    files = [p.relative_to(TRAINING).as_posix() for p in sorted(TRAINING.rglob("*"))
             if p.is_file() and "__pycache__" not in p.parts and p.name != "README.md"]
    assert files
    missing = [f for f in files if f"`{f}`" not in readme]
    assert not missing, f"training/README.md does not explain {missing}"
    assert "keras_textnet/training/" in readme  # where the library code is


# ------------------------------------------------ the PDF dataset builds' shared parts
def _debian_pdfs():
    import importlib.util

    spec = importlib.util.spec_from_file_location("debian_pdfs", TRAINING / "debian_pdfs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("pattern, path, matches", [
    ("*.pdf", "/usr/share/doc/a/b.pdf", True),           # relative: at any depth
    ("*.pdf", "/usr/share/doc/a/b.pdf.gz", False),
    ("a/*.pdf", "/usr/share/doc/a/b.pdf", True),
    ("a/*.pdf", "/usr/share/doc/a/c/b.pdf", False),      # * stays in one folder
    ("a/**/*.pdf", "/usr/share/doc/a/c/d/b.pdf", True),  # ** crosses folders
    ("a/**/*.pdf", "/usr/share/doc/a/b.pdf", True),      # ... or none
    ("/usr/*/b.pdf", "/usr/share/doc/b.pdf", False),     # absolute: from the root
    ("/usr/**b.pdf", "/usr/share/doc/b.pdf", True),
    ("b?.pdf", "/x/b1.pdf", True),
    ("b?.pdf", "/x/b/.pdf", False),
    ("a+b.pdf", "/x/a+b.pdf", True),                     # other characters are literal
    ("a+b.pdf", "/x/aab.pdf", False),
])
def test_glob_patterns_of_the_sources_files(pattern, path, matches):
    assert bool(_debian_pdfs().glob_regex(pattern).match(path)) == matches


def test_matching_files_keep_order_skip_exclusions_folders_and_repeats(tmp_path):
    for name in ("b.pdf", "a.pdf", "skip.pdf", "notes.txt"):
        (tmp_path / name).write_bytes(b"%PDF")
    (tmp_path / "dir.pdf").mkdir()
    (tmp_path / "link.pdf").symlink_to(tmp_path / "b.pdf")
    listed = [str(tmp_path / n) for n in ("b.pdf", "dir.pdf", "notes.txt", "a.pdf",
                                            "link.pdf", "skip.pdf", "missing.pdf")]
    got = _debian_pdfs().matching_files(listed, ["*.pdf", "!skip.pdf"])
    assert got == [str((tmp_path / "b.pdf").resolve()), str((tmp_path / "a.pdf").resolve())]


def _run_script(name, *args):
    import subprocess

    return subprocess.run(["bash", str(TRAINING / name), *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def test_build_scripts_parse_and_check_their_sources_before_any_work(tmp_path):
    import subprocess

    for name in ("build_pdf_dataset.sh", "build_val_set.sh", "debian_packages.sh"):
        assert subprocess.run(["bash", "-n", str(TRAINING / name)]).returncode == 0, name
    for name in ("build_pdf_dataset.sh", "build_val_set.sh"):
        done = _run_script(name, "--help")
        assert done.returncode == 0 and "--no-install" in done.stdout
    done = _run_script("build_pdf_dataset.sh", "test", tmp_path / "out")
    assert done.returncode == 2 and "SPLIT must be train or val" in done.stderr
    clash = tmp_path / "clash.txt"  # a training package listed for validation
    clash.write_text("asymptote-doc  **/*.pdf  pages=1 dpi=150 kind=manual\n")
    done = _run_script("build_val_set.sh", tmp_path / "out", "--sources", clash, "--no-install")
    assert done.returncode == 1 and "packages both in" in done.stderr, done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_pdf_dataset_build_refuses_a_held_out_package_before_reading_any_pdf(tmp_path):
    from keras_textnet.data.pdf import HELD_OUT_PACKAGES

    package = sorted(HELD_OUT_PACKAGES)[0]
    sources = tmp_path / "sources.txt"
    sources.write_text(f"{package}  **/*.pdf\n")
    done = _run_script("build_pdf_dataset.sh", "val", tmp_path / "out", "--sources", sources,
                       "--no-install")
    assert done.returncode == 1, done.stderr
    assert f"{sources}:1: {package} is a held-out package" in done.stderr
    assert not (tmp_path / "out").exists()
