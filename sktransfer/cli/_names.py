"""File names as the terminal, a TSV or a Parquet column can show them."""

__all__ = ["display_name"]


def display_name(name):
    """``name`` printable anywhere: undecodable bytes of a file name as ``\\xNN``.

    ``os.listdir`` returns the bytes of a name that is not UTF-8 as lone
    surrogates (``surrogateescape``); printing those raises, so they are shown
    as ``\\xNN`` escapes.
    """
    return (
        str(name).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    )
