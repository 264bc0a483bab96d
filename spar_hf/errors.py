"""One exception type for bad input, so the CLI can print it without a traceback."""


class SparError(Exception):
    """Bad input or an impossible request; the message names the file/record and the reason."""
