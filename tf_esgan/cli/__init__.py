"""The `esgan-*` command-line tools: thin absl-flags layers over the library.

Each module here defines its flags, builds a config and calls one library function;
`app.run_command` gives all of them the same flag parsing, error lines and exit statuses.
Importing this package imports TensorFlow first with its C++ start-up log lines dropped
(see `quiet.py`): that has to happen before any entry module imports TensorFlow, and this
is the one place every entry point passes through.
"""

import sys

from tf_esgan.cli.quiet import import_tensorflow_quietly

import_tensorflow_quietly(sys.argv)
