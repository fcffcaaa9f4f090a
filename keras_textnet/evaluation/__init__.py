"""The ICDAR-style evaluation protocol of DESIGN.md."""
