"""Errors a user can cause. Each carries a one-line message fit to show as is.

Everything the engine raises on bad input derives from ConvScopeError, so the CLI
and the GUI can catch one type and print ``str(err)`` without a traceback.
"""


class ConvScopeError(Exception):
    """A user-facing failure: ``str(err)`` is one human line naming the file and the reason."""

    def __init__(self, message: str):
        # Never let a multi-line message through: the CLI promises exactly one line.
        super().__init__(" ".join(str(message).split()))


class ImageLoadError(ConvScopeError):
    """The image could not be opened or decoded."""


class WeightsError(ConvScopeError):
    """A checkpoint could not be loaded, or does not fit the model."""


class DownloadError(ConvScopeError):
    """The weight download failed; the cache is left without a partial file."""


class Cancelled(ConvScopeError):
    """The operation was cancelled on purpose (a newer request, a Cancel button, shutdown)."""
