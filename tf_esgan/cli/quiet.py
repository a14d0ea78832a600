"""Import TensorFlow once, before any entry module does, without its start-up log lines.

TensorFlow 2.21 writes C++ log lines at import (oneDNN notice, CUDA probing, "All log
messages before absl::InitializeLog() ..."), some of them before absl's C++ logging is
set up, where TF_CPP_MIN_LOG_LEVEL does not reach. So the import (and the device probe
that logs `cuInit` errors) runs with file descriptor 2 captured; afterwards the captured
text is written back without the C++ log lines. Python warnings and tracebacks pass. With
`--verbosity=0` (INFO) or more, nothing is filtered and TensorFlow logs as it likes; an
explicit TF_CPP_MIN_LOG_LEVEL in the environment is respected.
"""

from __future__ import annotations

import os
import re
import sys

from tf_esgan.io_utils import captured_stderr

# "I0000 00:00:1796064708.762724   31385 port.cc:153] ..." and the like.
_CPP_LOG_LINE = re.compile(r"^[IWEF]\d{4} [\d:.]+\s+\d+ \S+:\d+\] ")
_CPP_NOISE = ("WARNING: All log messages before absl::InitializeLog()",
              "To enable the following instructions:")
_VERBOSITY_FLAGS = ("--verbosity", "-verbosity", "--v", "-v")


def requested_verbosity(argv: list[str]) -> int | None:
    """The value of --verbosity / -v in `argv` (absl's spellings), or None."""
    for position, argument in enumerate(argv[1:], start=1):
        name, equals, value = argument.partition("=")
        if name not in _VERBOSITY_FLAGS:
            continue
        if not equals:
            value = argv[position + 1] if position + 1 < len(argv) else ""
        try:
            return int(value)
        except ValueError:
            return None  # absl's flag parser reports the bad value
    return None


def filter_cpp_log(text: str) -> str:
    """`text` without TensorFlow's C++ log lines and start-up notices."""
    kept = [line for line in text.splitlines(keepends=True)
            if not _CPP_LOG_LINE.match(line) and not line.startswith(_CPP_NOISE)]
    return "".join(kept)


def import_tensorflow_quietly(argv: list[str]) -> None:
    """Imports tensorflow and keras, dropping their C++ start-up lines unless verbose."""
    verbosity = requested_verbosity(argv)
    if "tensorflow" in sys.modules or (verbosity is not None and verbosity >= 0):
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with captured_stderr(write_back=filter_cpp_log):
        # The import itself is the work to be captured, so it cannot be at module level.
        import keras  # noqa: F401  (Keras 3 logs at import too)
        import tensorflow as tf

        tf.config.list_physical_devices()
