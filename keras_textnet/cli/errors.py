"""The error every ``keras-textnet`` subcommand raises for a user's mistake."""

from __future__ import annotations

from contextlib import contextmanager


class CommandError(Exception):
    """A user error: printed as one line, exit status 2."""


def hostile_input_message(what: str, e: BaseException) -> str | None:
    """One line for what Python's own parsers raise on a hostile file, or ``None``.

    ``json`` and ``yaml`` raise ``RecursionError`` on nesting thousands deep,
    ``ValueError`` on an integer of more than 4300 digits, ``OverflowError``
    when such an integer meets a float, ``UnicodeDecodeError`` on bytes that
    are not UTF-8 and ``MemoryError`` on a file too large to hold.
    """
    if isinstance(e, RecursionError):
        return f"{what}: is nested too deeply to read (brackets or sections thousands deep)"
    if isinstance(e, UnicodeDecodeError):
        return (f"{what}: is not valid UTF-8: byte 0x{e.object[e.start]:02x} at offset "
                f"{e.start}")
    if isinstance(e, OverflowError):
        return f"{what}: holds a number too large to use"
    if isinstance(e, ValueError) and "integer string conversion" in str(e):
        return f"{what}: holds an integer with more than 4300 digits"
    if isinstance(e, MemoryError):
        return f"{what}: too large to read into memory"
    return None


@contextmanager
def reading(what):
    """Turns what a hostile file makes a parser raise into a one-line :class:`CommandError`.

    ``what`` names the file in the message. Errors that already are one line
    for the user (``AnnotationError``, ``CommandError``, ...) pass unchanged.
    """
    try:
        yield
    except CommandError:
        raise
    except (RecursionError, ValueError, OverflowError, MemoryError) as e:
        message = hostile_input_message(str(what), e)
        if message is None or _is_user_error(e):
            raise
        raise CommandError(message) from None


def _is_user_error(e: BaseException) -> bool:
    """Our own one-line errors (subclasses of ``ValueError``), told by their class."""
    return type(e).__name__ in ("AnnotationError", "CharsetError", "ConfigError",
                                "ImageReadError", "DocumentReadError")
