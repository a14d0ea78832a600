"""esgan-reproduce with the toy budget on a few TNBC images: both tables, figures, resume."""

import csv
import json
import shutil

import numpy as np
import pytest

from tf_esgan.reproduce.budgets import BUDGETS, PAPER_TABLE2
from tf_esgan.reproduce.pipeline import TRAINING_SETS, VARIANTS, ReproduceConfig, run_reproduction


@pytest.fixture(scope="module")
def small_tnbc(datasets_dir, tmp_path_factory):
    """Slides 01, 03, 04 (2 images each): 2 train slides and 1 held-out slide at 0.3."""
    root = tmp_path_factory.mktemp("tnbc")
    for sub in ("images", "masks"):
        (root / sub).mkdir()
        for name in ("01_1", "01_2", "03_1", "03_2", "04_1", "04_2"):
            shutil.copy(datasets_dir / "tnbc" / sub / f"{name}.png", root / sub / f"{name}.png")
    return root


def test_toy_reproduction_writes_both_tables_and_resumes(small_tnbc, tmp_path):
    config = ReproduceConfig(dataset=str(small_tnbc), out_dir=str(tmp_path / "repro"), budget="toy")
    messages = []
    result = run_reproduction(config, log=messages.append)
    assert set(result["table1"]) == set(VARIANTS) and set(result["table2"]) == set(TRAINING_SETS)
    for scores in result["table1"].values():
        assert 0 < scores["fsim"] <= 1 and scores["gmsd"] > 0 and np.isfinite(scores["ssim"])
        assert scores["aji"] is not None and 0 <= scores["aji"] <= 1
        assert scores["tiles"] == 2 * 64  # two held-out 512x512 images, 8x8 tiles of 64
    for scores in result["table2"].values():
        assert scores["num_images"] == 2
        assert all(0 <= scores[f"mean_{m}"] <= 1 or np.isnan(scores[f"mean_{m}"]) for m in ("dq", "sq", "pq", "aji"))
    out = tmp_path / "repro"
    rows = list(csv.reader(open(out / "table1.csv")))
    assert rows[0] == ["method", "ssim", "fsim", "gmsd", "aji"] and [r[0] for r in rows[1:]] == list(VARIANTS)
    assert float(rows[-1][2]) == pytest.approx(result["table1"]["enhanced"]["fsim"], abs=1e-6)
    table2 = (out / "table2.md").read_text()
    assert "| S* |" in table2 and "paper" not in table2  # a folder dataset has no paper row
    assert len(list((out / "synthetic" / "images").glob("*.png"))) == BUDGETS["toy"].num_synthetic
    for figure in ("figure_synthetic.png", "figure_segmentation.png"):
        assert (out / figure).stat().st_size > 10_000

    # A rerun resumes: every stage's result is read back, nothing is recomputed.
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.json") if "table" in p.parent.name or p.parent.parent.name == "table1"}
    again = run_reproduction(config, log=lambda message: None)
    assert again["table1"] == json.loads(json.dumps(result["table1"]))
    assert {p: p.stat().st_mtime_ns for p in before} == before
    assert any("SegNet S*" in message for message in messages)


def test_named_dataset_tables_carry_paper_rows(tmp_path):
    config = ReproduceConfig(dataset="tnbc", out_dir=str(tmp_path), datasets_root="/nowhere")
    assert str(config.dataset_dir) == "/nowhere/tnbc" and config.nuclei_preset == "tnbc"
    assert PAPER_TABLE2["tnbc"]["S*"] == (0.855, 0.863, 0.691, 0.683)
    with pytest.raises(ValueError, match="budget"):
        ReproduceConfig(dataset="tnbc", out_dir=str(tmp_path), budget="huge")
