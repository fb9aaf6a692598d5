"""Exceptions raised by sktransfer."""

__all__ = ["BackboneNotAvailableError"]


class BackboneNotAvailableError(RuntimeError):
    """A backbone's weights could not be loaded (offline, missing cache, bad name).

    The message names the backbone, why it failed and the backbones that work
    with no network.
    """
