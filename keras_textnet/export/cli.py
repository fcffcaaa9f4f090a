"""The ``keras-textnet export`` subcommand."""

from __future__ import annotations


def add_export_parser(subparsers):
    """Adds ``export`` to the ``keras-textnet`` subcommands."""
    p = subparsers.add_parser("export", help="export a model for deployment",
                              description="Export a TextNet for deployment.")
    p.set_defaults(func=cmd_export)
    return p


def cmd_export(args):
    raise NotImplementedError("export is being written")
