"""One runner for every `esgan-*` command: flag parsing, error lines, exit statuses.

    def main(argv): ...            # builds a config, calls the library, prints results
    def run(): app.run_command(main, "esgan-train")

Exit statuses: 0 success; 1 the job ran but reports a failure (a file that could not be
converted, a target missed); 2 a user error: a bad or missing flag, file or folder, a
wrong kind of model, an unwritable output; printed as one line
`<command>: error: <what, naming the file or flag>` without a traceback. 130 on Ctrl-C.
Anything else is a bug in this package and keeps its traceback (status 1, Python's).
"""

from __future__ import annotations

import errno
import functools
import logging as python_logging
import sys
from typing import Callable, NoReturn

from absl import app, flags
from absl import logging
from absl.logging import converter

from tf_esgan.cli import config_flags, quiet_flag
from tf_esgan.errors import ConfigError, UserError

USAGE_ERROR_STATUS = 2
INTERRUPTED_STATUS = 130

# OSErrors that describe the user's files or machine, not a bug: reported in one line.
_ENVIRONMENT_ERRNOS = frozenset({
    errno.ENOENT, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT, errno.EROFS,
    errno.EISDIR, errno.ENOTDIR, errno.EEXIST, errno.ENOTEMPTY, errno.ENAMETOOLONG,
    errno.EMFILE, errno.EXDEV, errno.EIO})
_ENVIRONMENT_ERRORS = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError,
                       FileExistsError)


def fail(command: str, message: str) -> NoReturn:
    """Prints `<command>: error: <message>` on stderr and exits with status 2."""
    sys.stdout.flush()
    print(f"{command}: error: {message}", file=sys.stderr, flush=True)
    sys.exit(USAGE_ERROR_STATUS)


def describe_os_error(error: OSError) -> str:
    """'<path>: <reason>' for an OSError (the path first, as for a bad file)."""
    if error.errno is None:  # raised by our code with the whole message, path included
        return str(error)
    reason = error.strerror or str(error)
    if error.errno == errno.ENOSPC:
        reason = "no space left on the device"
    paths = [path for path in (error.filename, error.filename2) if path]
    return f"{' -> '.join(map(str, paths))}: {reason}" if paths else reason


def build_config(factory: Callable, **values):
    """`factory(**values)`, with its ValueError/TypeError turned into a `ConfigError`.

    Config dataclasses check their fields in `__post_init__` and name the field; on the
    command line that field is the flag of the same name.
    """
    try:
        return factory(**values)
    except (ValueError, TypeError) as error:
        if isinstance(error, UserError):
            raise
        raise ConfigError(str(error)) from None


def define_deprecated_alias(old_name: str, name: str) -> None:
    """Keeps `--old_name` working as `--name` for one release, with a line saying so.

    The flag vocabulary (README, "Command-line tools"): `--model` reads a model
    (pretrained:NAME, a run folder, a .keras file), `--model_dir` is the run folder a
    trainer writes, `--dataset_dir` a canonical dataset read, `--out_dir` any other output
    folder.
    """
    flags.DEFINE_alias(old_name, name)
    flags.FLAGS[old_name].esgan_replacement = name


def _warn_deprecated_aliases(command: str) -> None:
    for name in flags.FLAGS:
        flag = flags.FLAGS[name]
        replacement = getattr(flag, "esgan_replacement", None)
        if replacement and flag.present:
            print(f"{command}: --{name} is deprecated and will be removed in the next release; "
                  f"use --{replacement}", file=sys.stderr, flush=True)


def _parse_flags(command: str, positional_arguments: bool, argv: list[str]) -> list[str]:
    try:
        remaining = flags.FLAGS(argv)
    except flags.Error as error:
        fail(command, f"{error} (see {command} --helpshort)")
    if len(remaining) > 1 and not positional_arguments:
        fail(command, f"unexpected arguments {remaining[1:]}; every input is a --flag "
                      f"(see {command} --helpshort)")
    _warn_deprecated_aliases(command)
    _quiet_python_loggers()
    return remaining


def _quiet_python_loggers() -> None:
    """TensorFlow's and Keras' Python INFO lines follow absl's verbosity (default WARNING).

    absl's own default under `app.run` is INFO, which prints TensorFlow internals such as
    "Sharding callback duration" at every checkpoint; a user asks for them with -v 0.
    """
    if not flags.FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)
    level = converter.absl_to_standard(logging.get_verbosity())
    for name in ("tensorflow", "keras", "absl"):
        python_logging.getLogger(name).setLevel(level)


def _guarded(command: str, main: Callable[[list[str]], int | None], argv: list[str]) -> int | None:
    try:
        return main(argv)
    except UserError as error:
        message = str(error)
    except OSError as error:
        if not (isinstance(error, _ENVIRONMENT_ERRORS) or error.errno in _ENVIRONMENT_ERRNOS):
            raise
        message = describe_os_error(error)
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr, flush=True)
        sys.exit(INTERRUPTED_STATUS)
    # Exits outside the `except` blocks: a SystemExit raised inside one would keep the
    # error's traceback, and with it the job's TensorFlow objects, alive until the
    # interpreter shuts down, where tf.data's threads then abort it (status 134).
    fail(command, message)


def _show_command_help(main: Callable) -> None:
    """Makes --helpshort show the command's docstring and flags.

    absl lists the flags of the module named by sys.argv[0]; a console script's wrapper
    defines none, and generated flags are defined in `config_flags` (--quiet in `quiet_flag`).
    """
    module = sys.modules[main.__module__]
    sys.modules["__main__"].__doc__ = module.__doc__
    for source in (main.__module__, config_flags.__name__, quiet_flag.__name__):
        for flag in flags.FLAGS.get_flags_for_module(source):
            flags.FLAGS.register_flag_by_module(sys.argv[0], flag)


def call_main(command: str, main: Callable[[list[str]], int | None], argv: list[str]) -> int:
    """Runs an already-parsed command's `main` as `run_command` would; returns the exit status.

    For tests and for embedding a command in another Python program.
    """
    try:
        status = _guarded(command, main, argv)
    except SystemExit as exit_:
        status = exit_.code
    return 0 if status is None else int(status)


def run_command(main: Callable[[list[str]], int | None], command: str, *,
                positional_arguments: bool = False) -> NoReturn:
    """Runs `main(argv)` as the command `command` (see the module docstring).

    Positional arguments are refused with a one-line error unless `positional_arguments`.
    """
    _show_command_help(main)
    app.run(functools.partial(_guarded, command, main),
            flags_parser=functools.partial(_parse_flags, command, positional_arguments))
