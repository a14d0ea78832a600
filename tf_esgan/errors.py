"""The one base class of errors a user can cause (a bad file, flag or folder).

Every `esgan-*` command turns a `UserError` into one line on stderr naming the file or
flag and what was expected, and exit status 2 (see `tf_esgan.cli.app`); anything else is
a bug and keeps its traceback. Library errors subclass it together with the built-in
exception they always were (`DatasetError(UserError, ValueError)`), so callers that catch
`ValueError` keep working.
"""


class UserError(Exception):
    """A problem with the user's input or environment, explained in the message."""


class ConfigError(UserError, ValueError):
    """A flag or config value is out of range or inconsistent (the message names it)."""


class ModelLoadError(UserError, ValueError):
    """A model argument names something that is not a model of the kind needed (the
    message says what it is and what was expected)."""


class ModelNotFoundError(UserError, FileNotFoundError):
    """A model argument names a missing file or an unfinished run (the message names the
    missing file)."""
