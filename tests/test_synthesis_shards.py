"""Shards of one synthesis job write one folder together: the files of one unsharded run, no pair twice."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tf_esgan.synthesis import job as synthesis, synthetic_set
from tf_esgan.errors import ConfigError
from tf_esgan.pretrained.registry import DIRECTORY_ENV
from tf_esgan.run_lock import LOCK_FILE, FolderLockedError, run_lock, shard_lock_path
from tf_esgan.runs.run_dir import CONFIG_FILE, ConfigMismatchError

REPO = Path(__file__).resolve().parents[1]
COUNT, BATCH = 7, 2  # blocks {0, 1}, {2, 3}, {4, 5}, {6}: shard 0 of 2 writes 0, 1, 4, 5
SHARD_PAIRS = ({0, 1, 4, 5}, {2, 3, 6})


def config(out_dir, **kwargs):
    return synthesis.SynthesisConfig(model="pretrained:tiny", out_dir=str(out_dir), num_images=COUNT,
                                     batch_size=BATCH, **kwargs)


def synthesize(out_dir, **kwargs):
    return synthesis.synthesize(config(out_dir, **kwargs), verbose=0, log=lambda message: None)


def files(folder):
    """Relative path -> bytes of every file but config.json (whose out_dir differs)."""
    return {path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file() and path.name != CONFIG_FILE}


def without_out_dir(folder):
    return {key: value for key, value in json.loads((folder / CONFIG_FILE).read_text()).items() if key != "out_dir"}


@pytest.fixture
def written(monkeypatch):
    """Pair indices `synthesis` writes, per call of `written.start(name)`."""
    record = {}
    original = synthesis.write_pair

    def write_pair(root, format, sample_id, image, labels):
        record[Path(root).name].append(int(sample_id.rsplit("_", 1)[1]))
        original(root, format, sample_id, image, labels)

    monkeypatch.setattr(synthesis, "write_pair", write_pair)
    return record


def test_two_shards_write_the_files_of_one_unsharded_run_and_nothing_twice(pretrained_env, tmp_path, written):
    whole, sharded = tmp_path / "whole", tmp_path / "sharded"
    written["whole"] = []
    synthesize(whole)
    written["sharded"] = []
    # Leftovers of a killed shard 1 stay while shard 0 runs (shard 1 may be writing them).
    (sharded / "images").mkdir(parents=True)
    theirs = sharded / "images" / ".synthetic_000002.png.x1.tmp"
    ours = sharded / "images" / ".synthetic_000000.png.x2.tmp"
    for leftover in (theirs, ours):
        leftover.write_bytes(b"half")
    first = synthesize(sharded, num_shards=2, shard_index=0)
    assert sorted(written["sharded"]) == sorted(SHARD_PAIRS[0]) and theirs.exists() and not ours.exists()
    assert (first["written"], first["skipped"], first["shard_index"], first["num_shards"]) == (4, 0, 0, 2)
    assert Path(first["figure"]).is_file()  # drawn from the four pairs there
    theirs.unlink()
    second = synthesize(sharded, num_shards=2, shard_index=1)
    assert second["written"] == 3 and second["figure"] is None
    assert sorted(written["sharded"][4:]) == sorted(SHARD_PAIRS[1])
    assert len(written["sharded"]) == len(set(written["sharded"])) == COUNT
    assert synthesize(sharded, num_shards=2, shard_index=0) == {**first, "written": 0, "skipped": 4,
                                                                "seconds": pytest.approx(0, abs=60)}
    assert files(sharded) == files(whole)  # pairs and, redrawn by shard 0, the figure
    assert without_out_dir(sharded) == without_out_dir(whole)  # no shard fields recorded
    assert not list(sharded.glob(".esgan*"))  # every lock file removed


def test_concurrent_shard_processes_one_from_tf_config(pretrained_env, tmp_path):
    whole, sharded = tmp_path / "whole", tmp_path / "sharded"
    synthesize(whole)
    env = {**os.environ, DIRECTORY_ENV: str(pretrained_env["directory"]), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("TF_CONFIG", None)
    command = [sys.executable, "-m", "tf_esgan.cli.synthesize", "--model=pretrained:tiny", f"--out_dir={sharded}",
               f"--num_images={COUNT}", f"--batch_size={BATCH}", "--quiet"]
    cluster = {"cluster": {"worker": ["host-a:2222", "host-b:2222"]}, "task": {"type": "worker", "index": 1}}
    processes = [subprocess.Popen([*command, "--num_shards=2", "--shard_index=0"], cwd=REPO, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
                 subprocess.Popen(command, cwd=REPO, env={**env, "TF_CONFIG": json.dumps(cluster)},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)]
    outputs = [process.communicate(timeout=120) for process in processes]
    for process, (stdout, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr
    assert "shard 0 of 2 synthesized 4 pairs" in outputs[0][0]
    assert "shard 1 of 2 synthesized 3 pairs" in outputs[1][0]
    pairs = {name: data for name, data in files(whole).items() if name.startswith(("images/", "masks/"))}
    assert {name: data for name, data in files(sharded).items() if name != "synthetic_pairs.png"} == pairs


def test_a_shard_of_another_set_is_refused(pretrained_env, tmp_path):
    out = tmp_path / "set"
    synthesize(out, num_shards=2, shard_index=1)
    with pytest.raises(ConfigMismatchError, match="seed: 0 in the run, 1 requested"):
        synthesize(out, num_shards=2, shard_index=0, seed=1)
    assert not (out / "images" / "synthetic_000000.png").exists()


def test_an_unsharded_run_and_a_shard_exclude_each_other_two_shards_do_not(pretrained_env, tmp_path):
    out = tmp_path / "set"
    with run_lock(out, what="synthetic set", shard_index=1, num_shards=2) as held:
        assert held == shard_lock_path(out, 1, 2)
        with pytest.raises(FolderLockedError, match=rf"written by pid {os.getpid()}@.* \(shard 1 of 2\)"):
            synthesize(out)
        with pytest.raises(FolderLockedError, match=r"shard 1 of 2"):
            synthesize(out, num_shards=2, shard_index=1)
        assert synthesize(out, num_shards=2, shard_index=0)["written"] == 4
        assert (out / LOCK_FILE).exists()  # shard 1 still holds it
    assert not list(out.glob(".esgan*"))
    with run_lock(out, what="synthetic set"):
        with pytest.raises(FolderLockedError, match=f"written by pid {os.getpid()}@"):
            synthesize(out, num_shards=2, shard_index=1)


def test_concurrent_first_shards_create_config_once(tmp_path, monkeypatch):
    """Two shards both find no config.json: the second to link it checks the first's."""
    out = tmp_path / "set"
    identity = {"model": "pretrained:tiny", "checkpoint_step": None, "sha256": "a" * 64}
    record = {"model": "pretrained:tiny", "out_dir": str(out), "num_images": 4, "preset": "tnbc", "seed": 0,
              "batch_size": 2, "conditioning": "enhanced", "format": "canonical", "overwrite": False,
              synthetic_set.WEIGHTS_KEY: identity}
    real_link = os.link

    def other_shard_links_first(source, destination):
        (out / CONFIG_FILE).write_text(json.dumps(record))
        real_link(source, destination)

    monkeypatch.setattr(synthetic_set.os, "link", other_shard_links_first)
    with pytest.raises(ConfigMismatchError, match="seed: 0 in the run, 1 requested"):
        synthetic_set.prepare(out, {**record, "seed": 1}, overwrite=False, owned=lambda index: True)
    other = {**record, synthetic_set.WEIGHTS_KEY: {**identity, "sha256": "b" * 64}}
    with pytest.raises(ConfigMismatchError, match="other generator weights"):
        synthetic_set.prepare(out, other, overwrite=False, owned=lambda index: True)
    (out / CONFIG_FILE).unlink()
    monkeypatch.setattr(synthetic_set.os, "link", real_link)
    synthetic_set.prepare(out, record, overwrite=False, owned=lambda index: True)
    assert json.loads((out / CONFIG_FILE).read_text()) == record and not list(out.glob(".*"))


def test_shard_index_from_tf_config(monkeypatch):
    def cluster(task_type, index, chief=True):
        jobs = {"worker": ["w0:1", "w1:1", "w2:1"], "ps": ["p0:1"], **({"chief": ["c:1"]} if chief else {})}
        return json.dumps({"cluster": jobs, "task": {"type": task_type, "index": index}})

    monkeypatch.setenv("TF_CONFIG", cluster("worker", 1))
    assert synthesis.tf_config_shard() == (2, 4)  # the chief is shard 0
    assert synthesis.tf_config_shard(cluster("chief", 0)) == (0, 4)
    assert synthesis.tf_config_shard(cluster("worker", 2, chief=False)) == (2, 3)
    with pytest.raises(ConfigError, match="task ps:0 is not one of the cluster's chief and worker tasks"):
        synthesis.tf_config_shard(cluster("ps", 0))
    with pytest.raises(ConfigError, match="no `task`"):
        synthesis.tf_config_shard(json.dumps({"cluster": {"worker": ["w0:1"]}}))
    with pytest.raises(ConfigError, match="TF_CONFIG: not a JSON object"):
        synthesis.tf_config_shard("{cluster")
    assert synthesis.tf_config_shard(json.dumps({"task": {"type": "worker", "index": 0}})) is None
    monkeypatch.delenv("TF_CONFIG")
    assert synthesis.tf_config_shard() is None


def test_shard_fields_are_checked():
    with pytest.raises(ValueError, match=r"`shard_index` must be in \[0, num_shards=2\), got 2"):
        config("out", num_shards=2, shard_index=2)
    with pytest.raises(ValueError, match="`num_shards` must be >= 1"):
        config("out", num_shards=0)
    with pytest.raises(ValueError, match="`overwrite` deletes the set while the other shards write it"):
        config("out", num_shards=2, shard_index=1, overwrite=True)
    blocks = config("out", num_shards=3, shard_index=2)
    assert [index for index in range(14) if blocks.owns(index)] == [4, 5, 10, 11]
