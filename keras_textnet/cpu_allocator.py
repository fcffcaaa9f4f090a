"""TensorFlow's BFC allocator for tensors on the CPU, chosen before TensorFlow starts.

By default TensorFlow hands every CPU tensor to a small pool in front of
``malloc``. The feature maps of a page are megabytes each; glibc serves blocks
that large with ``mmap`` and gives them back with ``munmap`` when they are freed,
so every op of every page touches fresh pages of memory, each one a page fault
(282,000 a second while training, 40% of the step spent in the kernel). The
BFC allocator (the one TensorFlow uses on GPUs) keeps the memory it has taken
and reuses it. ``benchmarks/cpu_allocator.py`` measures the difference
(``benchmarks/results/cpu_allocator.md``: a page in about 0.8 of the time).

TensorFlow reads ``TF_CPU_ALLOCATOR_USE_BFC`` once, when it creates its CPU
device (its first op), so :func:`use_bfc_cpu_allocator` must run before that.
The ``keras-textnet`` command calls it for every subcommand; a program of your
own calls it first thing, or sets the variable itself. A value already in the
environment is the user's choice and is kept (``TF_CPU_ALLOCATOR_USE_BFC=false``
keeps TensorFlow's default). No TensorFlow import here.
"""

from __future__ import annotations

import os

__all__ = ["BFC_ENV", "use_bfc_cpu_allocator", "bfc_requested"]

#: The variable TensorFlow's ProcessState reads when it makes the CPU allocator.
BFC_ENV = "TF_CPU_ALLOCATOR_USE_BFC"

_TRUE = ("1", "true")


def bfc_requested(environ=None) -> bool:
    """Whether ``environ`` (default ``os.environ``) asks TensorFlow for the BFC allocator."""
    environ = os.environ if environ is None else environ
    return environ.get(BFC_ENV, "").strip().lower() in _TRUE


def use_bfc_cpu_allocator(environ=None) -> bool:
    """Asks TensorFlow for its BFC allocator on the CPU, unless the variable is set already.

    Returns whether the allocator is requested now. It takes effect only if
    TensorFlow has not yet run an op in this process.
    """
    environ = os.environ if environ is None else environ
    environ.setdefault(BFC_ENV, "true")
    return bfc_requested(environ)
