"""Plots a training run's losses (``history.csv`` of ``keras-textnet train``'s run folder).

    python benchmarks/plot_history.py runs/mobilenet_synth/history.csv docs/images/curve.png
"""

import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(argv=None) -> int:
    argv = argv or sys.argv[1:]
    if len(argv) != 2:
        print(__doc__)
        return 2
    with open(argv[0]) as f:
        rows = list(csv.DictReader(f))
    steps = [int(r["step"]) for r in rows]
    names = [k for k in rows[0] if k not in ("step", "epoch", "minutes", "learning_rate")]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7), sharex=True)
    for name in names:
        values = [float(r[name]) for r in rows]
        (top if name in ("loss", "ctc") else bottom).plot(steps, values, label=name)
    top.set_ylabel("loss / CTC per character")
    bottom.set_ylabel("detection losses")
    # `minutes` restarts at 0 when a run resumes: add up the pieces.
    total, last = 0.0, 0.0
    for row in rows:
        minutes = float(row["minutes"])
        total += minutes - last if minutes >= last else minutes
        last = minutes
    bottom.set_xlabel(f"step (batch 2; about {total:.0f} minutes of training in all)")
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize=8)
    top.set_title("Training losses (running means within each epoch)")
    fig.tight_layout()
    fig.savefig(argv[1], dpi=110)
    print(f"wrote {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
