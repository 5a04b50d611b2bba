"""The one exception type that the CLI turns into a one-line error message."""


class VidsrError(Exception):
    """A user-facing error: bad input, a missing file, an impossible request.

    The CLI prints ``vidsr: error: <message>`` and exits non-zero, without a traceback.
    """
