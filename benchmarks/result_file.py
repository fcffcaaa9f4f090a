"""Writing a benchmark's Markdown result file (``benchmarks/results/*.md``)."""

from pathlib import Path


def write_result_file(path, lines) -> Path:
    """Writes ``lines`` (Markdown, one string a line) to ``path``, its folder made, and says so."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")
    print(f"wrote {path}")
    return path
