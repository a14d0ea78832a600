"""A synthetic set stays what its config.json says: every setting of its pairs recorded and checked.

Weights, seed, batch size, image size, format and the number of shards of the job writing
the set are recorded; a rerun (an extension, a resumed or a concurrent shard) with other
values is refused in one line naming the flags to use, and `num_images` never records
fewer pairs than the set holds.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tf_esgan.synthesis import job as synthesis, synthetic_set
from tf_esgan.cli.app import USAGE_ERROR_STATUS
from tf_esgan.data.pair_formats import list_pair_names
from tf_esgan.pretrained.registry import DIRECTORY_ENV
from tf_esgan.run_lock import FolderLockedError, run_lock
from tf_esgan.runs.run_dir import CONFIG_FILE, ConfigMismatchError

REPO = Path(__file__).resolve().parents[1]
COUNT, BATCH = 7, 2  # blocks {0, 1}, {2, 3}, {4, 5}, {6}
ERROR_PREFIX = "esgan-synthesize: error: "


def synthesize(out_dir, *, num_images=COUNT, batch_size=BATCH, **kwargs):
    config = synthesis.SynthesisConfig(model="pretrained:tiny", out_dir=str(out_dir), num_images=num_images,
                                       batch_size=batch_size, **kwargs)
    return synthesis.synthesize(config, verbose=0, log=lambda message: None)


def recorded(out_dir) -> dict:
    return json.loads((out_dir / CONFIG_FILE).read_text())


def one_line(refused) -> str:
    message = str(refused.value)
    assert "\n" not in message, message
    return message


def pair_count(out_dir) -> int:
    return len(list_pair_names(out_dir, "canonical"))


def test_a_shard_of_another_num_shards_is_refused_while_a_shard_job_holds_the_folder(pretrained_env, tmp_path):
    out = tmp_path / "set"
    with run_lock(out, what="synthetic set", shard_index=1, num_shards=3):
        with pytest.raises(FolderLockedError) as refused:
            synthesize(out, num_shards=2, shard_index=0)
    message = one_line(refused)
    assert f"pid {os.getpid()}@" in message and "shard 1 of 3" in message and "--num_shards=3" in message
    assert pair_count(out) == 0 and not (out / CONFIG_FILE).exists()


def test_num_shards_is_recorded_and_another_count_waits_until_the_set_is_complete(pretrained_env, tmp_path):
    out = tmp_path / "set"
    assert synthesize(out, num_shards=3, shard_index=0)["written"] == 3  # blocks 0 and 3: pairs 0, 1, 6
    assert recorded(out)["num_shards"] == 3
    with pytest.raises(ConfigMismatchError) as refused:
        synthesize(out, num_shards=2, shard_index=1)  # would write blocks 1 and 3, shard 1 of 3's
    message = one_line(refused)
    assert "--num_shards=3" in message and "4 of its 7 pairs are missing" in message
    assert pair_count(out) == 3
    for index in (1, 2):
        synthesize(out, num_shards=3, shard_index=index)
    assert pair_count(out) == COUNT and recorded(out)["num_shards"] == 1  # complete: no shard pending
    # A complete set is extended by shards of any count, then completed unsharded.
    assert synthesize(out, num_images=11, num_shards=2, shard_index=1)["written"] == 2  # pairs 7 and 10
    assert {key: recorded(out)[key] for key in ("num_images", "num_shards")} == {"num_images": 11, "num_shards": 2}
    assert synthesize(out, num_images=11)["written"] == 2
    assert pair_count(out) == 11 and recorded(out)["num_shards"] == 1


def test_another_batch_size_is_refused_on_extend_and_on_a_shard(pretrained_env, tmp_path):
    out = tmp_path / "set"
    synthesize(out)
    before = recorded(out)
    assert (before["batch_size"], before["image_size"], before["num_shards"]) == (BATCH, 32, 1)
    with pytest.raises(ConfigMismatchError) as refused:
        synthesize(out, num_images=9, batch_size=4)
    message = one_line(refused)
    assert "batch_size: 2 in the run, 4 requested" in message and "--batch_size=2" in message
    assert "--overwrite" in message and "model dir" not in message
    with pytest.raises(ConfigMismatchError) as refused:
        synthesize(out, num_images=9, batch_size=4, num_shards=2, shard_index=1)
    message = one_line(refused)
    assert "--batch_size=2" in message and "--overwrite" not in message
    assert recorded(out) == before and pair_count(out) == COUNT


def test_a_smaller_num_images_is_refused_naming_the_pairs_the_set_holds(pretrained_env, tmp_path):
    out = tmp_path / "set"
    synthesize(out)
    with pytest.raises(ConfigMismatchError) as refused:
        synthesize(out, num_images=3)
    message = one_line(refused)
    assert "holds 7 pairs" in message and "--num_images=7" in message and "--overwrite" in message
    with pytest.raises(ConfigMismatchError) as refused:
        synthesize(out, num_images=3, num_shards=2, shard_index=0)
    assert "holds 7 pairs" in one_line(refused) and "--overwrite" not in str(refused.value)
    assert recorded(out)["num_images"] == COUNT and pair_count(out) == COUNT
    # A record an earlier version shrank: the pairs on disk count, and a rerun mends it.
    (out / CONFIG_FILE).write_text(json.dumps({**recorded(out), "num_images": 3}))
    with pytest.raises(ConfigMismatchError, match="holds 7 pairs"):
        synthesize(out, num_images=5)
    assert synthesize(out)["written"] == 0 and recorded(out)["num_images"] == COUNT
    assert synthesize(out, num_images=3, overwrite=True)["written"] == 3
    assert pair_count(out) == 3 and recorded(out)["num_images"] == 3


def test_an_older_set_without_the_new_fields_extends(pretrained_env, tmp_path):
    out = tmp_path / "set"
    synthesize(out)
    older = {key: value for key, value in recorded(out).items() if key not in ("image_size", "num_shards")}
    (out / CONFIG_FILE).write_text(json.dumps(older))
    assert synthesize(out, num_images=9)["written"] == 2
    (out / CONFIG_FILE).write_text(json.dumps({**older, "num_images": 9}))
    assert synthesize(out, num_images=11, num_shards=2, shard_index=1)["written"] == 1  # pair 10 of block 5
    with pytest.raises(ConfigMismatchError, match="batch_size: 2 in the run, 4 requested"):
        synthesize(out, num_images=13, batch_size=4)


def test_other_weights_are_refused_in_one_line_with_the_flags_that_apply(tmp_path):
    out = tmp_path / "set"
    identity = {"model": "pretrained:tiny", "checkpoint_step": None, "sha256": "a" * 64}
    record = {"model": "pretrained:tiny", "out_dir": str(out), "num_images": 4, "preset": "tnbc", "seed": 0,
              "batch_size": 2, "conditioning": "enhanced", "format": "canonical", "overwrite": False,
              "num_shards": 1, "image_size": 32, synthetic_set.WEIGHTS_KEY: identity}
    synthetic_set.prepare(out, record, overwrite=False)
    other = {**record, synthetic_set.WEIGHTS_KEY: {**identity, "sha256": "b" * 64}}
    with pytest.raises(ConfigMismatchError) as refused:
        synthetic_set.prepare(out, other, overwrite=False)
    message = one_line(refused)
    assert "aaaaaaaaaaaaaaaa" in message and "bbbbbbbbbbbbbbbb" in message
    assert "--overwrite" in message and "--out_dir" in message
    with pytest.raises(ConfigMismatchError) as refused:
        synthetic_set.prepare(out, {**other, "num_shards": 2}, overwrite=False, owned=lambda index: True)
    message = one_line(refused)
    assert "--out_dir" in message and "--overwrite" not in message
    with pytest.raises(ConfigMismatchError) as refused:
        synthetic_set.prepare(out, {**record, "seed": 1, "image_size": 64}, overwrite=False)
    message = one_line(refused)
    assert "seed: 0 in the run, 1 requested" in message and "image_size: 32 in the run, 64 requested" in message
    assert "--seed=0" in message and "--model" in message and "model dir" not in message
    assert recorded(out) == record


def _cli(out, *flags, env):
    command = [sys.executable, "-m", "tf_esgan.cli.synthesize", "--model=pretrained:tiny", f"--out_dir={out}",
               f"--batch_size={BATCH}", "--quiet", *flags]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def _error(result) -> str:
    """The command's error message, which must be its last line of stderr."""
    assert result.returncode == USAGE_ERROR_STATUS, result.stderr
    _, _, message = result.stderr.partition(ERROR_PREFIX)
    assert message and "\n" not in message.strip(), result.stderr
    return message.strip()


def test_command_line_refusals_are_one_line_naming_the_flags(pretrained_env, tmp_path):
    out = tmp_path / "set"
    env = {**os.environ, DIRECTORY_ENV: str(pretrained_env["directory"]), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("TF_CONFIG", None)
    assert _error(_cli(out, "--num_images=0", env=env)) == "--num_images must be >= 1, got 0"
    with run_lock(out, what="synthetic set", shard_index=0, num_shards=3):  # a shard job of 3 is writing
        message = _error(_cli(out, f"--num_images={COUNT}", "--num_shards=2", "--shard_index=1", env=env))
    assert "shard 0 of 3" in message and "--num_shards=3" in message
    assert pair_count(out) == 0
    # The config.json of a set being written in shards names its num_shards, not a shard.
    being_written = tmp_path / "being_written.json"
    being_written.write_text(json.dumps({"num_images": COUNT, "num_shards": 3}))
    message = _error(_cli(out, f"--config={being_written}", env=env))
    assert message.startswith("--num_shards=3 (from --config) needs --shard_index")
