"""Synthesis overlapped with the generator writes the files of the serial loop, byte for byte.

The serial loop (`pipeline_depth=0`, one batch at a time in one thread) is the reference;
the overlapped runs draw masks ahead of the generator and write pairs behind it in two
threads (`synthesis/pipeline.py`). Also: shards and resumes write the same bytes; after an
interruption, a full disk or Ctrl-C only complete pairs count, a full disk ends in the
serial loop's error, and no helper thread outlives a run.
"""

import errno
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tf_esgan.synthesis import job as synthesis
from tf_esgan.cli.app import INTERRUPTED_STATUS, USAGE_ERROR_STATUS
from tf_esgan.data import pair_formats
from tf_esgan.io_utils import DiskFullError
from tf_esgan.pretrained.registry import DIRECTORY_ENV
from tf_esgan.runs.run_dir import CONFIG_FILE
from tf_esgan.synthesis.pipeline import run_blocks

from conftest import tiny_generator

REPO = Path(__file__).resolve().parents[1]
COUNT, BATCH = 24, 5  # blocks of 5, the last one padded: 0-4, 5-9, 10-14, 15-19, 20-23
HELPER_THREAD_PREFIX = "esgan-"
# scipy.io.savemat writes the time of writing into the text header of a .mat file (its
# first 116 bytes), so two serial runs differ there too; the rest is compared.
MAT_HEADER_TEXT = 116


@pytest.fixture(scope="module")
def generator():
    return tiny_generator(seed=7, image_size=64, filters=4)


def synthesize(generator, out_dir, *, depth, count=COUNT, **kwargs):
    config = synthesis.SynthesisConfig(model="in-memory", out_dir=str(out_dir), num_images=count, batch_size=BATCH,
                                       conditioning="skeleton", pipeline_depth=depth, **kwargs)
    return synthesis.synthesize(config, generator=generator, verbose=0, log=lambda message: None)


def files(folder):
    """Relative path -> bytes of every file; config.json without its out_dir, .mat without its time."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.name == CONFIG_FILE:
                data = {key: value for key, value in json.loads(data).items() if key != "out_dir"}
            elif path.suffix == ".mat":
                data = data[MAT_HEADER_TEXT:]
            found[path.relative_to(folder).as_posix()] = data
    return found


def helper_threads():
    return [thread.name for thread in threading.enumerate() if thread.name.startswith(HELPER_THREAD_PREFIX)]


@pytest.fixture(scope="module")
def reference(generator, tmp_path_factory):
    """The files of the serial loop: 24 pairs, the figure and config.json."""
    out = tmp_path_factory.mktemp("serial") / "set"
    assert synthesize(generator, out, depth=0)["written"] == COUNT
    return files(out)


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_overlapped_run_writes_the_serial_runs_bytes(generator, reference, tmp_path, depth):
    summary = synthesize(generator, tmp_path / "set", depth=depth)
    assert (summary["written"], summary["skipped"]) == (COUNT, 0)
    written = files(tmp_path / "set")
    assert len(written) == 2 * COUNT + 2  # pairs, figure, config.json
    assert written == reference
    assert not helper_threads()


@pytest.mark.parametrize("format", ["stardist", "cellpose", "hovernet"])
def test_every_format_overlapped_writes_the_serial_runs_bytes(generator, tmp_path, format):
    for depth in (0, 2):
        assert synthesize(generator, tmp_path / f"depth_{depth}", depth=depth, count=7, format=format)["written"] == 7
    assert files(tmp_path / "depth_2") == files(tmp_path / "depth_0")


def test_overlapped_shards_write_the_serial_runs_bytes(generator, reference, tmp_path):
    out = tmp_path / "set"
    # Blocks 0, 3 / 1, 4 / 2 of 3 shards; shard 0 last, so its figure shows every pair.
    for shard_index in (2, 1, 0):
        summary = synthesize(generator, out, depth=2, num_shards=3, shard_index=shard_index)
        assert summary["written"] == {0: 10, 1: 9, 2: 5}[shard_index]
    assert files(out) == reference


def test_resume_after_removed_files_rewrites_exactly_them(generator, reference, tmp_path):
    out = tmp_path / "set"
    synthesize(generator, out, depth=2)
    # Incomplete pairs (an image gone, a mask gone) and a killed writer's temporary file.
    for name in ("images/synthetic_000003.png", "images/synthetic_000011.png", "masks/synthetic_000012.png",
                 "images/synthetic_000023.png", "masks/synthetic_000023.png"):
        (out / name).unlink()
    (out / "images" / ".synthetic_000011.png.killed.tmp").write_bytes(b"half")
    summary = synthesize(generator, out, depth=2)
    assert (summary["written"], summary["skipped"]) == (4, COUNT - 4)
    assert files(out) == reference


def test_a_failing_write_stops_all_later_writes_and_the_resume_completes(generator, reference, tmp_path,
                                                                         monkeypatch):
    out, calls = tmp_path / "set", {"count": 0}
    original = pair_formats.write_image

    def interrupted_at_the_ninth_image(path, image):
        calls["count"] += 1
        if calls["count"] == 9:
            raise KeyboardInterrupt  # after pair 8's mask, before its image
        original(path, image)

    monkeypatch.setattr(pair_formats, "write_image", interrupted_at_the_ninth_image)
    with pytest.raises(KeyboardInterrupt):
        synthesize(generator, out, depth=2)
    assert not helper_threads()
    # As in the serial loop: pairs 0-7 complete, pair 8's mask alone, nothing later.
    assert sorted(path.name for path in (out / "images").iterdir()) == [f"synthetic_{i:06d}.png" for i in range(8)]
    assert sorted(path.name for path in (out / "masks").iterdir()) == [f"synthetic_{i:06d}.png" for i in range(9)]
    monkeypatch.setattr(pair_formats, "write_image", original)
    assert synthesize(generator, out, depth=2)["written"] == COUNT - 8
    assert files(out) == reference


def test_an_error_in_the_generator_stops_the_helpers(generator, reference, tmp_path, monkeypatch):
    out, calls = tmp_path / "set", {"count": 0}
    original = synthesis.to_uint8

    def interrupted_at_the_third_batch(images):
        calls["count"] += 1
        if calls["count"] == 3:
            raise KeyboardInterrupt  # Ctrl-C while the generator runs
        return original(images)

    monkeypatch.setattr(synthesis, "to_uint8", interrupted_at_the_third_batch)
    with pytest.raises(KeyboardInterrupt):
        synthesize(generator, out, depth=2)
    assert not helper_threads()
    # Writes still queued are dropped: of the two batches generated, the pairs written before.
    complete = pair_formats.list_pair_names(out, "canonical")
    assert len(complete) <= 10 and complete == [f"synthetic_{i:06d}" for i in range(len(complete))]
    assert not list(out.rglob(".synthetic_*"))  # no temporary file left
    monkeypatch.setattr(synthesis, "to_uint8", original)
    assert synthesize(generator, out, depth=2)["written"] == COUNT - len(complete)
    assert files(out) == reference


def test_a_full_disk_raises_the_same_disk_full_error_naming_the_file(generator, tmp_path, monkeypatch):
    target = "synthetic_000007.png"
    real_fsync = os.fsync

    def fsync_on_a_full_disk(descriptor):
        written = os.readlink(f"/proc/self/fd/{descriptor}")  # the image's temporary file
        if f"/images/.{target}." in written:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", fsync_on_a_full_disk)
    messages = {}
    for depth in (0, 2):
        out = tmp_path / f"depth_{depth}"
        with pytest.raises(DiskFullError) as error:
            synthesize(generator, out, depth=depth)
        assert error.value.errno == errno.ENOSPC and error.value.filename == str(out / "images" / target)
        messages[depth] = str(error.value).replace(str(out), "OUT")
        assert pair_formats.list_pair_names(out, "canonical") == [f"synthetic_{i:06d}" for i in range(7)]
        assert not list(out.rglob(".synthetic_*")) and not helper_threads()
    assert messages[2] == messages[0] and "\n" not in messages[0]
    assert messages[0].startswith(f"OUT/images/{target}: could not write it: no space left on the device")


def test_run_blocks_keeps_order_and_a_fixed_number_of_blocks_in_flight():
    depth, blocks = 2, range(12)
    prepared, written, most_in_flight, lock = [], [], [0], threading.Lock()

    def prepare(block):
        with lock:
            prepared.append(block)
            most_in_flight[0] = max(most_in_flight[0], len(prepared) - len(written))
        return block * 10

    def write(block):
        time.sleep(0.01)  # a slow disk: the writer is the bottleneck
        with lock:
            written.append(block)

    count = run_blocks(blocks, prepare, lambda block, value: [lambda: write(value // 10)], depth=depth)
    assert count == len(blocks) and prepared == written == list(blocks)
    # `depth` blocks prepared ahead, one at the generator and `depth` waiting to be written.
    assert most_in_flight[0] <= 2 * depth + 1
    with pytest.raises(ValueError, match="`depth` must be >= 0"):
        run_blocks(blocks, prepare, lambda block, value: [], depth=-1)


def test_run_blocks_raises_a_preparation_error_and_stops():
    def prepare(block):
        if block == 3:
            raise ValueError("block 3 cannot be prepared")
        return block

    written = []
    with pytest.raises(ValueError, match="block 3"):
        run_blocks(range(10), prepare, lambda block, value: [lambda: written.append(value)], depth=2)
    assert written == [0, 1, 2][:len(written)] and not helper_threads()  # queued writes dropped


def _command(out: Path, *flags: str) -> list[str]:
    return [sys.executable, "-m", "tf_esgan.cli.synthesize", "--model=pretrained:tiny", f"--out_dir={out}",
            "--batch_size=2", "--quiet", *flags]


def _limit_file_size() -> None:
    """In the child: writes beyond 1,500 bytes fail with EFBIG, as on a full disk (config.json fits)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1_500, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


@pytest.fixture
def cli_env(pretrained_env):
    return {**os.environ, DIRECTORY_ENV: str(pretrained_env["directory"]), "TF_CPP_MIN_LOG_LEVEL": "2"}


def test_cli_on_a_full_disk_prints_one_line_naming_the_file(cli_env, tmp_path):
    out = tmp_path / "set"
    result = subprocess.run(_command(out, "--num_images=6"), cwd=REPO, env=cli_env, capture_output=True, text=True,
                            timeout=180, preexec_fn=_limit_file_size)
    assert result.returncode == USAGE_ERROR_STATUS, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    # (AutoGraph's own temporary file is too large too: TensorFlow warns about it.)
    errors = [line for line in result.stderr.splitlines() if line.startswith("esgan-synthesize:")]
    assert len(errors) == 1, result.stderr[-3000:]
    assert errors[0].startswith(f"esgan-synthesize: error: {out}/images/synthetic_000000.png: could not write it: "
                                "file too large")
    assert not list(out.rglob(".synthetic_*")) and not pair_formats.list_pair_names(out, "canonical")


@pytest.mark.slow  # ~15-70 s; the in-process Ctrl-C test above covers the pipeline's part
def test_cli_ctrl_c_exits_130_leaving_complete_pairs_only(cli_env, tmp_path):
    out = tmp_path / "set"
    process = subprocess.Popen(_command(out, "--num_images=1000000"), cwd=REPO, env=cli_env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while len(list((out / "images").glob("synthetic_*.png"))) < 10 and time.monotonic() < deadline:
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)  # while the pipeline runs
        _, stderr = process.communicate(timeout=60)  # the helpers stop: the process ends
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == INTERRUPTED_STATUS, stderr
    assert "Traceback" not in stderr and stderr.strip().splitlines()[-1] == "esgan-synthesize: interrupted"
    complete = pair_formats.list_pair_names(out, "canonical")
    assert len(complete) >= 10 and complete == [f"synthetic_{i:06d}" for i in range(len(complete))]
    assert not list(out.rglob(".synthetic_*"))  # every file written atomically
