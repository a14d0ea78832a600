"""README.md's code blocks, run at toy size, and the top-level scripts trainers/ and export/.

Every ```python and ```bash block of the README runs here, or each of its commands is in
`NOT_RUN` with the reason; a block or command in neither table fails, and so does a
substitution or table entry that no longer matches the README, so the two cannot drift apart.

In a temporary folder: `data/tnbc` and `my_images/` are the sample shipped in the package,
`path/to/...` its crops written as StarDist, Cellpose and HoVer-Net training sets,
`runs/enhanced` a toy GAN trained by `python trainers/train_gan.py --flagfile=...` and
`segnet.keras` a toy SegNet trained by `trainers/train_segnet.py`. The Python blocks run
in order as one script; shell commands run in bash with every `esgan-*` command resolved
to `python -m tf_esgan.cli.<module>` of this checkout (the console scripts on PATH would
run the installed copy). Independent jobs run two at a time (subprocesses).
"""

import configparser
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import pytest

from tf_esgan.data.datasets import list_samples, load_pair, sample_root
from tf_esgan.data.pair_formats import write_pair

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
NOT_CODE = ("", "json")  # the data layout and example output
PARALLEL_JOBS = 2  # one per core; 3 measured no faster on 2 busy cores
TIMEOUT_S = 300

TINY_NETWORK = "image_size=32, generator_base_filters=4, generator_depth=5, discriminator_base_filters=4"

# Each ```python block in order (they share one namespace): (README text, toy replacement).
PYTHON_SUBSTITUTIONS = (
    (('PipelineConfig(conditioning="skeleton", batch_size=1',
      'PipelineConfig(conditioning="skeleton", crop_size=32, batch_size=1'),),
    (("NetworkConfig())", f"NetworkConfig({TINY_NETWORK}))"),
     ('GanLossConfig(variant="enhanced")', 'GanLossConfig(variant="enhanced", contour_xla=False)'),
     ("steps_per_epoch=len(train), epochs=150", "steps_per_epoch=1, epochs=1")),
)
# Appended to the Python blocks: what they computed, for the test to check against their comments.
PYTHON_REPORT = """
import json
json.dump({"condition": [str(condition.dtype), list(condition.shape), float(condition.min()),
                         float(condition.max())],
           "split": [len(train), len(test)], "logged": sorted(gan.history.history)},
          open("python_blocks.json", "w"))
"""


class Toy(NamedTuple):
    """How a README command runs here."""

    substitutions: tuple = ()  # (README text, toy replacement), each matching once
    files: tuple = ()  # (glob in the workspace, how many files it must match afterwards)
    says: str = ""  # text its standard output must contain
    reads_runs: bool = False  # reads runs/enhanced or segnet.keras, which the training scripts write


_CONVERTED = "converted 4 image(s), 272 nuclei; 0 failure(s)"
_RELEASE = "needs the original public release, not shipped; tests/data/test_convert.py converts made-up ones"

# Shell commands (README text, `\` continuations joined, trailing comment dropped) run here.
RUN = {
    "esgan-segment --model=pretrained:tnbc --input=my_images/ --out_dir=segmented/":
        Toy(files=(("segmented/labels/*.png", 4), ("segmented/overlays/*.png", 4), ("segmented/nuclei.csv", 1))),
    "esgan-synthesize --model=pretrained:tnbc --out_dir=synthetic --num_images=1000":
        Toy(substitutions=(("--num_images=1000", "--num_images=2"),),
            files=(("synthetic/images/*.png", 2), ("synthetic/masks/*.png", 2), ("synthetic/synthetic_pairs.png", 1))),
    "esgan-prepare --format=stardist --source=path/to/stardist_data --out_dir=data/mine":
        Toy(files=(("data/mine/images/*.png", 4),), says=_CONVERTED),
    "esgan-prepare --format=cellpose --source=path/to/cellpose_train --out_dir=data/mine":
        Toy(files=(("data/mine/masks/*.png", 4),), says=_CONVERTED),
    "esgan-prepare --format=hovernet --source=path/to/training_data/540x540_164x164 --out_dir=data/mine":
        Toy(files=(("data/mine/masks/*.png", 4),), says=_CONVERTED),
    # Array task 0 of 8 (SLURM_ARRAY_TASK_ID=0) writes block 0: pairs 0 and 1 of 2.
    "esgan-synthesize --model=pretrained:tnbc --out_dir=synth --num_images=60000 --num_shards=8 "
    "--shard_index=$SLURM_ARRAY_TASK_ID --quiet":
        Toy(substitutions=(("--num_images=60000", "--num_images=2"),), files=(("synth/images/*.png", 2),)),
    "esgan-export --model=runs/enhanced --out_dir=serving_models":
        Toy(files=(("serving_models/esgan_generator/1/saved_model.pb", 1),), reads_runs=True),
    "esgan-export --kind=segnet --model=segnet.keras --out_dir=serving_models":
        Toy(files=(("serving_models/segnet/1/saved_model.pb", 1),), reads_runs=True),
}
# Shell commands that do not run here, and why.
NOT_RUN = {
    "pip install . && esgan-demo --out_dir demo_out":
        "installs the package; tests/test_demo.py runs the demo (with tiny models)",
    "pip install '.[test]' && python -m pytest": "the CI script .ci/run runs it verbatim",
    "#SBATCH --array=0-7": "a Slurm directive; the shard command below runs here as array task 0",
    "esgan-prepare --format=tnbc    --source=TNBC_NucleiSegmentation --out_dir=data/tnbc": _RELEASE,
    "esgan-prepare --format=cpm     --source=cpm15                   --out_dir=data/cpm15": _RELEASE,
    "esgan-prepare --format=monuseg --source=MoNuSegTrainingData     --out_dir=data/monuseg": _RELEASE,
    "ESGAN_EXPORT_BASE=$PWD/serving_models docker compose -f export/serving/docker-compose.yml up":
        "needs Docker and the TF Serving image (none here)",
    "python -m tf_esgan.cli.serving_client --mask=mask.png --out=generated.png":
        "needs a TF Serving server on :8501; tests/serving/test_client.py checks the client against a stand-in",
}

# The top-level scripts at toy size (flagfile lines of trainers/train_gan.py; flags of train_segnet.py).
GAN_FLAGS = ("--dataset_dir=data/tnbc", "--model_dir=runs/enhanced", "--image_size=32", "--generator_base_filters=4",
             "--generator_depth=5", "--discriminator_base_filters=4", "--epochs=1", "--steps_per_epoch=1",
             "--test_fraction=0.25", "--contour_xla=false", "--quiet")
SEGNET_FLAGS = ("--train_set=R", "--dataset_dir=data/tnbc", "--model_dir=runs/segnet_r", "--epochs=1",
                "--steps_per_epoch=1", "--batch_size=1", "--crop_size=32", "--base_filters=4",
                "--test_fraction=0.25", "--tune_images=1", "--quiet")


def readme_blocks() -> list[tuple[str, str]]:
    """(language, text) of every fenced block of README.md, in order."""
    return FENCE.findall(README.read_text())


def shell_commands(block: str) -> list[str]:
    """A shell block's commands: one per line once `\\` continuations are joined, trailing comments dropped."""
    joined = re.sub(r"\\\n\s*", "", block)
    return [re.sub(r"\s+#.*$", "", line).strip() for line in joined.splitlines() if line.strip()]


def substituted(text: str, substitutions) -> str:
    for old, new in substitutions:
        assert text.count(old) == 1, f"README no longer holds {old!r} once: update tests/test_readme.py"
        text = text.replace(old, new)
    return text


def python_script() -> str:
    blocks = [text for language, text in readme_blocks() if language == "python"]
    assert len(blocks) == len(PYTHON_SUBSTITUTIONS), "a Python block was added or removed: update PYTHON_SUBSTITUTIONS"
    return "\n".join(substituted(text, subs) for text, subs in zip(blocks, PYTHON_SUBSTITUTIONS)) + PYTHON_REPORT


def test_every_block_is_run_or_listed():
    unknown_languages = {language for language, _ in readme_blocks()} - {"python", "bash", *NOT_CODE}
    assert not unknown_languages, f"README blocks this test does not know how to run: {unknown_languages}"
    commands = [command for language, text in readme_blocks() if language == "bash" for command in shell_commands(text)]
    unknown = [command for command in commands if command not in RUN and command not in NOT_RUN]
    assert not unknown, f"README shell commands neither run nor listed in NOT_RUN: {unknown}"
    stale = sorted((RUN.keys() | NOT_RUN.keys()) - set(commands))
    assert not stale, f"entries of RUN / NOT_RUN no longer in the README: {stale}"
    assert not RUN.keys() & NOT_RUN.keys() and all(NOT_RUN.values())
    for command, toy in RUN.items():
        substituted(command, toy.substitutions)
    python_script()


def _workspace(folder: Path) -> dict:
    """The README's inputs in `folder`, `esgan-*` shims in folder/bin; returns the commands' environment."""
    shutil.copytree(sample_root(), folder / "data" / "tnbc", ignore=shutil.ignore_patterns("README.md"))
    shutil.copytree(sample_root() / "images", folder / "my_images")
    sources = {"stardist": "path/to/stardist_data", "cellpose": "path/to/cellpose_train",
               "hovernet": "path/to/training_data/540x540_164x164"}
    for sample in list_samples(sample_root()):
        image, labels = load_pair(sample)
        for layout, source in sources.items():
            write_pair(folder / source, layout, sample.id, image, labels)
    (folder / "runs").mkdir()
    (folder / "runs" / "enhanced.flags").write_text("\n".join(GAN_FLAGS) + "\n")
    scripts = configparser.ConfigParser()
    scripts.read(REPO / "setup.cfg")
    (folder / "bin").mkdir()
    for line in scripts["options.entry_points"]["console_scripts"].strip().splitlines():
        name, target = (part.strip() for part in line.split("="))
        shim = folder / "bin" / name
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m {target.split(":")[0]} "$@"\n')
        shim.chmod(0o755)
    # Without $ESGAN_PRETRAINED_DIR and the like: `pretrained:NAME` are the models shipped in the package.
    environment = {key: value for key, value in os.environ.items() if not key.startswith("ESGAN_")}
    return {**environment, "PATH": f"{folder / 'bin'}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(REPO),
            "TF_CPP_MIN_LOG_LEVEL": "2", "SLURM_ARRAY_TASK_ID": "0"}


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory):
    """Runs everything; returns (workspace, {job or README command: CompletedProcess}).

    The training scripts first; the Python blocks and the shell blocks (each block's
    commands in order, as a reader would run them) meanwhile; export/export.py and the
    blocks with a command that reads a trained run once the training scripts are done.
    """
    folder = tmp_path_factory.mktemp("readme")
    environment = _workspace(folder)
    (folder / "python_blocks.py").write_text(python_script())
    results = {}

    def run(name: str, command: list[str]) -> None:
        results[name] = subprocess.run(command, cwd=folder, env=environment, capture_output=True, text=True,
                                       timeout=TIMEOUT_S)

    def run_block(commands: list[str]) -> None:
        for command in commands:
            run(command, ["bash", "-c", substituted(command, RUN[command].substitutions)])

    python = sys.executable
    blocks = [[command for command in shell_commands(text) if command in RUN]
              for language, text in readme_blocks() if language == "bash"]
    later = [block for block in blocks if any(RUN[command].reads_runs for command in block)]
    with ThreadPoolExecutor(PARALLEL_JOBS) as pool:
        training = [
            pool.submit(run, "train_gan", [python, str(REPO / "trainers" / "train_gan.py"),
                                           "--flagfile=runs/enhanced.flags"]),
            pool.submit(run, "train_segnet", [python, str(REPO / "trainers" / "train_segnet.py"), *SEGNET_FLAGS])]
        jobs = [pool.submit(run, "python_blocks", [python, "python_blocks.py"]),
                *(pool.submit(run_block, block) for block in blocks if block and block not in later)]
        for job in training:
            job.result()
        if (folder / "runs" / "segnet_r" / "segnet.keras").exists():
            shutil.copy(folder / "runs" / "segnet_r" / "segnet.keras", folder / "segnet.keras")
        jobs += [pool.submit(run, "export", [python, str(REPO / "export" / "export.py"), "--model=runs/enhanced",
                                             "--out_dir=exported"]),
                 *(pool.submit(run_block, block) for block in later)]
        for job in jobs:
            job.result()
    return folder, results


def _check(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, f"{result.args}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"


def test_python_blocks_compute_what_their_comments_say(readme_run):
    folder, results = readme_run
    _check(results["python_blocks"])
    report = json.loads((folder / "python_blocks.json").read_text())
    assert report["condition"] == ["float32", [256, 256], 0.0, 2.0]  # "float32 [256, 256] in [0, 2]"
    assert report["split"] == [3, 1]  # 4 crops of 4 slides, 0.3 of the slides held out
    assert set(report["logged"]) == {"d_loss", "g_adv", "l1", "ls1", "ls2", "g_total"}


@pytest.mark.parametrize("command", list(RUN))
def test_shell_command_runs(readme_run, command):
    folder, results = readme_run
    _check(results[command])
    toy = RUN[command]
    for pattern, count in toy.files:
        assert len(list(folder.glob(pattern))) == count, pattern
    assert toy.says in results[command].stdout


def test_top_level_scripts_train_and_export(readme_run):
    folder, results = readme_run
    for job in ("train_gan", "train_segnet", "export"):
        _check(results[job])
    assert (folder / "runs" / "enhanced" / "checkpoints" / "ckpt-1.index").is_file()
    assert json.loads((folder / "runs" / "enhanced" / "config.json").read_text())["model"]["image_size"] == 32
    assert (folder / "runs" / "segnet_r" / "segnet.keras").is_file()
    version = folder / "exported" / "esgan_generator" / "1"
    assert results["export"].stdout.strip() == "exported/esgan_generator/1"
    assert (version / "saved_model.pb").is_file() and (version / "variables").is_dir()


def _map_rows() -> list[list[str]]:
    section = README.read_text().split("## Map: paper -> code -> test\n", 1)[1].split("\n## ", 1)[0]
    return [line.split("|")[1:-1] for line in section.splitlines()
            if line.startswith("| ") and not line.startswith("| Paper")]


def test_the_map_names_code_and_tests_that_exist():
    """The "Map: paper -> code -> test" table: every file, function and test it names exists."""
    rows = _map_rows()
    assert [row[0].split(",")[0].strip() for row in rows][:7] == [f"Eq. {n}" for n in range(1, 8)]
    for paper, code, checks in rows:
        source = None
        for token in re.findall(r"`([^`]+)`", code):
            if token.endswith(".py"):
                source = REPO / "tf_esgan" / token
                assert source.is_file(), f"{paper}: {source}"
            elif re.fullmatch(r"[\w.]+", token) and not token.endswith(".png"):
                name = token.rsplit(".", 1)[-1]
                assert re.search(rf"^\s*(def|class) {name}\b", source.read_text(), re.MULTILINE), f"{paper}: {token}"
        test_file = None
        for token in re.findall(r"`([^`]+)`", checks):
            path, _, test = token.partition("::")
            test_file = REPO / "tests" / path if path else test_file
            assert test_file.is_file(), f"{paper}: {test_file}"
            assert re.search(rf"^def {test}\(", test_file.read_text(), re.MULTILINE), f"{paper}: {token}"
