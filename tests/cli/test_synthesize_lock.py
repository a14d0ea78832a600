"""Two esgan-synthesize into one folder: the second exits 2 naming the first."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tf_esgan.cli.app import USAGE_ERROR_STATUS
from tf_esgan.pretrained.registry import DIRECTORY_ENV
from tf_esgan.run_lock import LOCK_FILE

REPO = Path(__file__).resolve().parents[2]


def _command(out: Path, count: int) -> list[str]:
    return [sys.executable, "-m", "tf_esgan.cli.synthesize", "--model=pretrained:tiny", f"--out_dir={out}",
            f"--num_images={count}", "--batch_size=2", "--quiet"]


def _holder(lock: Path, deadline: float) -> dict:
    while time.monotonic() < deadline:
        try:
            return json.loads(lock.read_text())
        except (FileNotFoundError, ValueError):
            time.sleep(0.1)
    raise AssertionError(f"{lock} never appeared")


def test_a_second_synthesis_into_the_same_folder_is_refused(pretrained_env, tmp_path):
    out = tmp_path / "set"
    env = {**os.environ, DIRECTORY_ENV: str(pretrained_env["directory"]), "TF_CPP_MIN_LOG_LEVEL": "2"}
    first = subprocess.Popen(_command(out, 1_000_000), cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    try:
        holder = _holder(out / LOCK_FILE, time.monotonic() + 120)
        assert holder["pid"] == first.pid
        second = subprocess.run(_command(out, 4), cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    assert second.returncode == USAGE_ERROR_STATUS, second.stderr
    lines = [line for line in second.stderr.splitlines() if line.startswith("esgan-synthesize: error:")]
    assert len(lines) == 1
    assert f"{out}: this synthetic set folder is being written by pid {first.pid}@" in lines[0]
    assert f"--out_dir={out} --num_images=1000000" in lines[0]
