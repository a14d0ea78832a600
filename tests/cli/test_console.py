"""What a command prints: no TensorFlow C++ log lines by default, a progress bar only on a terminal."""

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tf_esgan.cli.quiet import filter_cpp_log, requested_verbosity

REPO = Path(__file__).resolve().parents[2]
CPP_LINE = re.compile(r"^[IWEF]\d{4} [\d:.]+\s+\d+ \S+:\d+\] ", re.M)
BAR = "━"  # Keras Progbar's bar character

# Lines TensorFlow 2.21 writes at import on this kind of machine (copied from a real run).
TF_STARTUP = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1796064708.762724   31385 port.cc:153] oneDNN custom operations are on.\n"
    "I0000 00:00:1796064708.763081   31385 cudart_stub.cc:31] Could not find cuda drivers on your machine.\n"
    "I0000 00:00:1796064708.805814   31385 cpu_feature_guard.cc:227] This TensorFlow binary is optimized\n"
    "To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 FMA, in other operations.\n"
    "E0000 00:00:1796064710.879150   31385 cuda_platform.cc:52] failed call to cuInit: UNKNOWN ERROR (303)\n")


def test_filter_drops_cpp_lines_and_keeps_python_output():
    python_warning = "/x/y.py:3: UserWarning: something the user should see\n  warnings.warn(\n"
    assert filter_cpp_log(TF_STARTUP) == ""
    assert filter_cpp_log(TF_STARTUP + python_warning + TF_STARTUP) == python_warning


@pytest.mark.parametrize("argv, expected", [
    (["esgan-train"], None), (["esgan-train", "--verbosity=0"], 0), (["esgan-train", "-v", "1"], 1),
    (["esgan-train", "--v=-2", "--model_dir=x"], -2), (["esgan-train", "--verbosity", "x"], None),
    (["esgan-train", "--verbose=1"], None)])
def test_requested_verbosity(argv, expected):
    assert requested_verbosity(argv) == expected


def _synthesize(out: Path, *extra: str, terminal: bool) -> tuple[int, str, str]:
    """Runs esgan-synthesize; stdout (and stderr) on a pseudo-terminal when `terminal`."""
    command = [sys.executable, "-m", "tf_esgan.cli.synthesize", "--model=pretrained:tiny",
               f"--out_dir={out}", "--num_images=4", "--batch_size=2", *extra]
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    if not terminal:
        result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
        return result.returncode, result.stdout, result.stderr
    leader, follower = pty.openpty()
    process = subprocess.Popen(command, cwd=REPO, stdout=follower, stderr=subprocess.PIPE, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    stderr = process.stderr.read().decode()
    os.close(leader)
    return process.wait(timeout=300), b"".join(chunks).decode("utf-8", "replace"), stderr


def test_cli_is_quiet_in_a_log_and_shows_progress_on_a_terminal(pretrained_env, tmp_path):
    status, stdout, stderr = _synthesize(tmp_path / "log", terminal=False)
    assert status == 0, stderr
    assert not CPP_LINE.search(stderr) and "absl::InitializeLog" not in stderr, stderr
    assert BAR not in stdout and "synthesized 4 pairs" in stdout
    assert stderr == "" and "generator: pretrained 'tiny'" in stdout

    status, stdout, stderr = _synthesize(tmp_path / "tty", terminal=True)
    assert status == 0, stderr
    assert BAR in stdout and "4/4" in stdout and "synthesized 4 pairs" in stdout
    assert not CPP_LINE.search(stderr + stdout)

    # A quieter verbosity turns the bar off on a terminal too; -v 0 lets TensorFlow speak.
    status, stdout, _ = _synthesize(tmp_path / "quiet", "--verbosity=-2", terminal=True)
    assert status == 0 and BAR not in stdout
    status, _, stderr = _synthesize(tmp_path / "verbose", "-v", "0", terminal=False)
    assert status == 0 and CPP_LINE.search(stderr)
