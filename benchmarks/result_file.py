"""Writing a benchmark's Markdown result file (``benchmarks/results/*.md``)."""

import os
from pathlib import Path


def write_result_file(path, lines) -> Path:
    """Writes ``lines`` (Markdown, one string a line) to ``path``, its folder made, and says so."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")
    print(f"wrote {path}")
    return path


def shown_path(path: str) -> str:
    """``path`` relative to the working directory when it lies below it (for result files)."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel
