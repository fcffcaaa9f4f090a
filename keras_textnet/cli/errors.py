"""The error every ``keras-textnet`` subcommand raises for a user's mistake."""


class CommandError(Exception):
    """A user error: printed as one line, exit status 2."""
