"""esgan-reproduce with the toy budget, 2 seeds, on a few TNBC images: tables, spread, resume."""

import csv
import json
import shutil

import numpy as np
import pytest
import tensorflow as tf

from tf_esgan.data.datasets import list_samples, split_samples_by_group
from tf_esgan.data.image_io import read_image
from tf_esgan.metrics.image_quality import ssim
from tf_esgan.reproduce.budgets import BUDGETS, PAPER_TABLE2
from tf_esgan.reproduce.pipeline import TRAINING_SETS, ReproduceConfig, run_reproduction, stages_per_seed

TOY = BUDGETS["toy"]
SEEDS = (0, 1)
TABLE1_ROWS = (*TOY.variants, "flat", "real")
HELD_OUT = ["01_1", "01_2"]  # slide 01 at split seed 0


@pytest.fixture(scope="module")
def small_tnbc(datasets_dir, tmp_path_factory):
    """Slides 01, 03, 04 (2 images each): 2 train slides and 1 held-out slide at 0.3."""
    root = tmp_path_factory.mktemp("tnbc")
    for sub in ("images", "masks"):
        (root / sub).mkdir()
        for name in ("01_1", "01_2", "03_1", "03_2", "04_1", "04_2"):
            shutil.copy(datasets_dir / "tnbc" / sub / f"{name}.png", root / sub / f"{name}.png")
    return root


@pytest.fixture(scope="module")
def toy_run(small_tnbc, tmp_path_factory):
    out = tmp_path_factory.mktemp("repro")
    config = ReproduceConfig(dataset=str(small_tnbc), out_dir=str(out), budget="toy", seed=SEEDS[0],
                             seeds=len(SEEDS))
    messages = []
    result = run_reproduction(config, log=messages.append)
    return config, result, messages, out


def _csv(path):
    with open(path, newline="") as stream:
        return list(csv.reader(stream))


def test_every_seed_runs_every_stage_in_its_folder(toy_run):
    _, result, messages, out = toy_run
    assert list(result["seeds"]) == list(SEEDS)
    for seed in SEEDS:
        scores = result["seeds"][seed]
        assert list(scores["table1"]) == list(TABLE1_ROWS) and list(scores["table2"]) == list(TRAINING_SETS)
        for variant in TOY.variants:
            values = scores["table1"][variant]
            assert 0 < values["fsim"] <= 1 and values["gmsd"] > 0 and np.isfinite(values["ssim"])
            assert values["aji"] is not None and 0 <= values["aji"] <= 1
            assert values["tiles"] == 2 * 64  # two held-out 512x512 images, 8x8 tiles of 64
        for values in scores["table2"].values():
            assert values["num_images"] == 2
            assert all(0 <= values[f"mean_{m}"] <= 1 or np.isnan(values[f"mean_{m}"])
                       for m in ("dq", "sq", "pq", "aji"))
        folder = out / f"seed_{seed}"
        rows = _csv(folder / "table1.csv")  # the seed's own table, as a one-seed run wrote it
        assert rows[0] == ["method", "ssim", "fsim", "gmsd", "aji"] and [r[0] for r in rows[1:]] == list(TABLE1_ROWS)
        assert float(rows[TABLE1_ROWS.index("enhanced") + 1][2]) == pytest.approx(
            scores["table1"]["enhanced"]["fsim"], abs=1e-6)
        assert len(list((folder / "synthetic" / "images").glob("*.png"))) == TOY.num_synthetic
        for figure in ("figure_synthetic.png", "figure_segmentation.png"):
            assert (folder / figure).stat().st_size > 10_000
        assert "| S* |" in (folder / "table2.md").read_text()
    # Different seeds train different networks.
    assert result["seeds"][0]["table1"]["enhanced"]["ssim"] != result["seeds"][1]["table1"]["enhanced"]["ssim"]
    assert any(m.endswith("seed 2/2 (seed 1): SegNet S*: training") for m in messages)
    # Stages are numbered over the whole run, and the count announced is the count run.
    stage_lines = [m for m in messages if "] stage " in m]
    total = 2 * stages_per_seed(TOY)
    assert len(stage_lines) == total and f"stage {total}/{total}, seed 2/2" in stage_lines[-1]
    assert "stage 1/" in stage_lines[0] and "GAN " in stage_lines[0]


def test_held_out_split_is_the_base_seeds_for_every_seed(toy_run, small_tnbc):
    config, _, _, out = toy_run
    samples = list_samples(small_tnbc)
    # Seed 1's own split would hold out another slide, so a seed leaking into the split shows.
    assert [s.id for s in split_samples_by_group(samples, test_fraction=0.3, seed=1)[1]] != HELD_OUT
    assert json.loads((out / "split.json").read_text())["test"] == HELD_OUT
    for seed in SEEDS:
        folder = out / f"seed_{seed}"
        for variant in (*TOY.variants, "flat"):
            assert sorted(p.stem for p in (folder / "table1" / variant / "synthetic").glob("*.png")) == HELD_OUT
        for run in [folder / "gan" / v for v in TOY.variants]:
            gan = json.loads((run / "config.json").read_text())
            assert (gan["trainer"]["seed"], gan["data"]["split_seed"]) == (seed, config.seed), run
        for run in [folder / "segnet" / s for s in TRAINING_SETS]:
            run_config = json.loads((run / "config.json").read_text())
            assert (run_config["trainer"]["seed"], run_config["data"]["split_seed"]) == (seed, config.seed), run


def test_aggregated_csv_holds_each_seed_and_its_mean_and_sd(toy_run):
    _, result, _, out = toy_run
    for table, header, rows in (("table1", ["method", "seed", "ssim", "fsim", "gmsd", "aji"], TABLE1_ROWS),
                                ("table2", ["training_set", "seed", "dq", "sq", "pq", "aji"], TRAINING_SETS)):
        lines = _csv(out / f"{table}.csv")
        assert lines[0] == header
        assert [(line[0], line[1]) for line in lines[1:]] == [
            (row, seed) for row in rows for seed in ("0", "1", "mean", "sd")]
        for row in rows:
            by_seed = {line[1]: line[2:] for line in lines[1:] if line[0] == row}
            for column, cells in enumerate(zip(*by_seed.values())):
                if all(cell == "" for cell in cells):  # a score that does not apply (real: SSIM)
                    continue
                per_seed = np.array([float(by_seed[s][column]) for s in ("0", "1")])
                np.testing.assert_allclose(float(by_seed["mean"][column]), per_seed.mean(), atol=2e-6)
                np.testing.assert_allclose(float(by_seed["sd"][column]), per_seed.std(ddof=1), atol=2e-6)
        # The per-seed rows are the seed folders' values.
        first = next(line for line in lines if line[:2] == [rows[-1], "1"])
        key = "aji" if table == "table1" else "mean_aji"
        assert float(first[-1]) == pytest.approx(result["seeds"][1][table][rows[-1]][key], abs=1e-6)
    markdown = (out / "table1.md").read_text()
    assert "2 seed(s) (0, 1): mean ± sd" in markdown and "| real | n/a | n/a | n/a | " in markdown
    assert "paper" not in markdown  # a folder dataset has no paper row


def test_flat_row_is_the_training_mean_colour_scored_like_a_generator(toy_run, small_tnbc):
    _, result, _, out = toy_run
    train_ids = json.loads((out / "split.json").read_text())["train"]
    assert train_ids == ["03_1", "03_2", "04_1", "04_2"]
    pixels = np.concatenate([read_image(small_tnbc / "images" / f"{i}.png").reshape(-1, 3) for i in train_ids])
    colour = pixels.astype(np.float64).mean(axis=0)
    flat = result["seeds"][0]["table1"]["flat"]
    np.testing.assert_allclose(flat["colour"], colour, rtol=1e-9)
    # SSIM of every 64x64 tile of the held-out images against that colour, by hand.
    real_tiles, flat_tiles = [], []
    for sample_id in HELD_OUT:
        written = read_image(out / "seed_0" / "table1" / "flat" / "synthetic" / f"{sample_id}.png")
        assert (written == np.rint(colour).astype(np.uint8)).all()
        real = read_image(small_tnbc / "images" / f"{sample_id}.png")
        real_tiles += [real[t:t + 64, l:l + 64] for t in range(0, 512, 64) for l in range(0, 512, 64)]
        flat_tiles += [np.broadcast_to(np.rint(colour).astype(np.uint8), (64, 64, 3))] * 64
    expected = ssim(tf.constant(np.stack(real_tiles), tf.float32) / 255.0,
                    tf.constant(np.stack(flat_tiles), tf.float32) / 255.0).numpy().mean()
    assert flat["ssim"] == pytest.approx(float(expected), abs=1e-5)
    assert np.isfinite(flat["fsim"]) and np.isfinite(flat["gmsd"]) and 0 <= flat["aji"] <= 1
    # The colour depends on the split only: the same image quality for every seed.
    assert result["seeds"][1]["table1"]["flat"]["ssim"] == flat["ssim"]


def test_real_row_is_segnet_r_on_the_real_held_out_images(toy_run):
    _, result, _, _ = toy_run
    for seed in SEEDS:
        real = result["seeds"][seed]["table1"]["real"]
        assert (real["ssim"], real["fsim"], real["gmsd"]) == (None, None, None)
        # Table 2 scores the same SegNet R, watershed and images.
        assert real["aji"] == pytest.approx(result["seeds"][seed]["table2"]["R"]["mean_aji"], abs=1e-12)


def _results(out):
    """Every file a stage computes: all but run configs, TensorBoard logs, tables and figures."""
    def rewritten(path):
        return (path.name == "config.json" or "logs" in path.parts or path.suffix in (".md", ".csv")
                or path.name.startswith("figure_") or path.name == "synthetic_pairs.png" or path.name == "split.json")
    return {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and not rewritten(p)}


def test_rerun_recomputes_nothing(toy_run):
    config, result, _, out = toy_run
    before = _results(out)
    assert sum(p.name == "scores.json" for p in before) == 2 * len(TABLE1_ROWS)
    assert sum(p.suffix == ".keras" for p in before) >= 2 * len(TRAINING_SETS)
    again = run_reproduction(config, log=lambda message: None)
    assert json.loads(json.dumps(again["seeds"])) == json.loads(json.dumps(result["seeds"]))
    assert _results(out) == before


def test_named_dataset_tables_carry_paper_rows(tmp_path):
    config = ReproduceConfig(dataset="tnbc", out_dir=str(tmp_path), datasets_root="/nowhere")
    assert str(config.dataset_dir) == "/nowhere/tnbc" and config.nuclei_preset == "tnbc"
    assert PAPER_TABLE2["tnbc"]["S*"] == (0.855, 0.863, 0.691, 0.683)
    with pytest.raises(ValueError, match="budget"):
        ReproduceConfig(dataset="tnbc", out_dir=str(tmp_path), budget="huge")
    with pytest.raises(ValueError, match="seeds"):
        ReproduceConfig(dataset="tnbc", out_dir=str(tmp_path), seeds=0)
    runs = ReproduceConfig(dataset="tnbc", out_dir=str(tmp_path), seed=5, seeds=3).seed_configs()
    assert [(r.seed, r.split_seed, r.seeds, r.out_dir) for r in runs] == [
        (s, 5, 1, str(tmp_path / f"seed_{s}")) for s in (5, 6, 7)]
