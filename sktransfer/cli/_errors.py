"""The two kinds of failure the command line reports, and their exit codes."""

__all__ = ["CommandError", "UsageError"]


class CommandError(Exception):
    """A failure to report as ``error: <message>`` alone, with exit code 1."""

    exit_code = 1


class UsageError(CommandError):
    """A command line that cannot work whatever the files: exit code 2.

    Reported as argparse reports its own errors (the usage line, then the
    message), so every usage error reads and exits the same way.
    """

    exit_code = 2
