"""Expected failures: what the user did or has, not a bug.

The command line prints such an error's message as one line and exits non-zero; anything
else that escapes is a bug and keeps its traceback.
"""


class UserError(Exception):
    """Something the user can fix; the message names what is wrong and what to do."""


class ConfigError(UserError, ValueError):
    """A setting outside its meaningful range, refused before any work starts."""


class CheckpointError(UserError):
    """A run folder's checkpoint is missing, damaged or from an incompatible version."""


class RunFolderError(UserError):
    """A run folder cannot be used as asked (it holds a finished run, it is not a run...)."""
