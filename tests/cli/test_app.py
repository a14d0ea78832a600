"""The one runner of every command: user errors in one line with status 2, bugs keep their traceback."""

import dataclasses
import errno

import pytest

from tf_esgan.cli.app import USAGE_ERROR_STATUS, build_config, call_main, describe_os_error
from tf_esgan.data.image_io import DatasetError
from tf_esgan.errors import ConfigError, UserError


def _raising(error):
    def main(argv):
        raise error
    return main


def test_user_error_is_one_line_and_status_2(capsys):
    status = call_main("esgan-x", _raising(DatasetError("data/x/images/01.png: not a readable image")), ["esgan-x"])
    assert status == USAGE_ERROR_STATUS
    assert capsys.readouterr().err == "esgan-x: error: data/x/images/01.png: not a readable image\n"


@pytest.mark.parametrize("error, line", [
    (OSError(errno.ENOSPC, "No space left on device", "/data/out/images/x.png"),
     "/data/out/images/x.png: no space left on the device"),
    (PermissionError(errno.EACCES, "Permission denied", "/srv/runs"), "/srv/runs: Permission denied"),
    (FileNotFoundError("/m/g.keras: expected an existing `.keras` file"), "/m/g.keras: expected an existing `.keras` file"),
])
def test_environment_os_errors_name_the_path(capsys, error, line):
    assert call_main("esgan-x", _raising(error), ["esgan-x"]) == USAGE_ERROR_STATUS
    assert capsys.readouterr().err == f"esgan-x: error: {line}\n"
    assert describe_os_error(error) == line


@pytest.mark.parametrize("bug", [RuntimeError("internal"), KeyError("x"), OSError(errno.EBADF, "Bad fd"),
                                 ValueError("a bug, not a user error")])
def test_bugs_keep_their_traceback(bug):
    with pytest.raises(type(bug)):
        call_main("esgan-x", _raising(bug), ["esgan-x"])


def test_success_and_failure_statuses():
    assert call_main("esgan-x", lambda argv: None, ["esgan-x"]) == 0
    assert call_main("esgan-x", lambda argv: 1, ["esgan-x"]) == 1


@dataclasses.dataclass(frozen=True)
class _Config:
    size: int

    def __post_init__(self):
        if self.size < 1:
            raise ValueError(f"_Config: `size` must be >= 1, got {self.size}")


def test_build_config_turns_field_checks_into_config_errors():
    assert build_config(_Config, size=2) == _Config(size=2)
    with pytest.raises(ConfigError, match="`size` must be >= 1, got 0") as caught:
        build_config(_Config, size=0)
    assert isinstance(caught.value, UserError) and isinstance(caught.value, ValueError)
    with pytest.raises(ConfigError, match="unexpected keyword"):
        build_config(_Config, size=1, colour="red")
