"""Mean ± sd over seeds: the numbers, their text, and the aggregated tables (hand-computed)."""

import csv
import math

import numpy as np
import pytest

from tf_esgan.reproduce.pipeline import ReproduceConfig
from tf_esgan.reproduce.report import write_seed_summary
from tf_esgan.reproduce.spread import format_mean_sd, mean_and_sd, paired_bootstrap_interval


def test_mean_and_sample_sd():
    # mean 0.6; squared deviations 0.01 + 0 + 0.01 over n-1 = 2 -> sd 0.1 (not 0.0816, ddof=0).
    mean, sd = mean_and_sd([0.5, 0.6, 0.7])
    assert mean == pytest.approx(0.6) and sd == pytest.approx(0.1)
    mean, sd = mean_and_sd([0.25])
    assert mean == 0.25 and math.isnan(sd)
    assert all(math.isnan(v) for v in mean_and_sd([0.5, None]))
    with pytest.raises(ValueError, match="values"):
        mean_and_sd([])


def test_format_mean_sd():
    assert format_mean_sd([0.5, 0.6, 0.7]) == "0.600 ± 0.100"
    assert format_mean_sd([1.0, 2.0]) == "1.500 ± 0.707"  # sd = sqrt(0.25 + 0.25) = 0.7071
    assert format_mean_sd([0.1234]) == "0.123"  # one seed: no spread to show
    assert format_mean_sd([None, None]) == "n/a" and format_mean_sd([0.5, float("nan")]) == "n/a"
    assert format_mean_sd([0.12345, 0.12355], digits=4) == "0.1235 ± 0.0001"


def _table1(enhanced_ssim, flat_aji):
    row = {"ssim": enhanced_ssim, "fsim": 0.75, "gmsd": 0.125, "aji": 0.5}
    return {"enhanced": row, "flat": {"ssim": 0.5, "fsim": 0.4, "gmsd": 0.3, "aji": flat_aji},
            "real": {"ssim": None, "fsim": None, "gmsd": None, "aji": 0.625}}


def _table2(r_pq):
    names = ("dq", "sq", "pq", "aji")
    return {"R": {f"mean_{n}": value for n, value in zip(names, (0.5, 0.75, r_pq, 0.5))}}


def test_seed_summary_tables(tmp_path):
    config = ReproduceConfig(dataset="tnbc", out_dir=str(tmp_path), budget="toy", datasets_root="/nowhere",
                             seeds=3)
    results = {0: (_table1(0.4, 0.1), _table2(0.25)), 1: (_table1(0.5, 0.2), _table2(0.25)),
               2: (_table1(0.6, 0.6), _table2(0.4))}
    write_seed_summary(config, results, [], tmp_path)
    table1 = (tmp_path / "table1.md").read_text()
    assert "3 seed(s) (0, 1, 2): mean ± sd (sample sd, ddof=1)" in table1
    assert "| enhanced | 0.500 ± 0.100 | 0.750 ± 0.000 | 0.125 ± 0.000 | 0.500 ± 0.000 |" in table1
    # flat AJI: mean 0.3, deviations -0.2, -0.1, 0.3 -> sd = sqrt(0.14 / 2) = 0.2646
    assert "| flat | 0.500 ± 0.000 | 0.400 ± 0.000 | 0.300 ± 0.000 | 0.300 ± 0.265 |" in table1
    assert "| real | n/a | n/a | n/a | 0.625 ± 0.000 |" in table1
    assert "| paper: enhanced | 0.522 | 0.760 | 0.131 | 0.580 |" in table1
    # PQ: mean 0.3, deviations -0.05, -0.05, 0.1 -> sd = sqrt(0.015 / 2) = 0.0866
    table2 = (tmp_path / "table2.md").read_text()
    assert "| R | 0.500 ± 0.000 | 0.750 ± 0.000 | 0.300 ± 0.087 | 0.500 ± 0.000 |" in table2
    with open(tmp_path / "table1.csv", newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ["method", "seed", "ssim", "fsim", "gmsd", "aji"]
    assert rows[1:6] == [["enhanced", "0", "0.400000", "0.750000", "0.125000", "0.500000"],
                         ["enhanced", "1", "0.500000", "0.750000", "0.125000", "0.500000"],
                         ["enhanced", "2", "0.600000", "0.750000", "0.125000", "0.500000"],
                         ["enhanced", "mean", "0.500000", "0.750000", "0.125000", "0.500000"],
                         ["enhanced", "sd", "0.100000", "0.000000", "0.000000", "0.000000"]]
    assert rows[-2:] == [["real", "mean", "", "", "", "0.625000"], ["real", "sd", "", "", "", "0.000000"]]


def test_one_seed_summary_shows_plain_values(tmp_path):
    config = ReproduceConfig(dataset="tnbc", out_dir=str(tmp_path), budget="toy", datasets_root="/nowhere")
    write_seed_summary(config, {7: (_table1(0.4, 0.1), _table2(0.25))}, [], tmp_path)
    table1 = (tmp_path / "table1.md").read_text()
    assert "1 seed(s) (7): one seed" in table1 and "| enhanced | 0.400 | 0.750 | 0.125 | 0.500 |" in table1


@pytest.mark.parametrize("dataset, named", [("tnbc", "tnbc"), ("data/mine", "data/mine"), ("/abs/data/mine", "mine")])
def test_tables_name_the_dataset_not_the_machine_path(tmp_path, dataset, named):
    config = ReproduceConfig(dataset=dataset, out_dir=str(tmp_path), budget="toy", datasets_root="/nowhere")
    write_seed_summary(config, {0: (_table1(0.4, 0.1), _table2(0.25))}, [], tmp_path)
    for table in ("table1.md", "table2.md"):
        text = (tmp_path / table).read_text()
        assert f"0 images of {named} (split.json)" in text and "/nowhere" not in text and "/abs" not in text


def _literal_bootstrap(differences, resamples, confidence, seed):
    """The percentile bootstrap written out loop by loop, from its definition."""
    rng = np.random.default_rng(seed)
    n = len(differences)
    means = []
    for _ in range(resamples):
        picks = rng.integers(0, n, size=n)
        means.append(sum(differences[i] for i in picks) / n)
    means.sort()
    return means


def test_paired_bootstrap_interval_matches_the_definition_and_covers_the_mean():
    differences = [0.12, -0.03, 0.08, 0.20, 0.05, -0.01]
    mean, low, high = paired_bootstrap_interval(differences, resamples=4000, seed=3)
    assert mean == pytest.approx(np.mean(differences))
    # The same generator draws the same picks one resample at a time: the same quantiles.
    reference = _literal_bootstrap(differences, 4000, 0.95, 3)
    assert low == pytest.approx(np.quantile(reference, 0.025), abs=1e-12)
    assert high == pytest.approx(np.quantile(reference, 0.975), abs=1e-12)
    assert low < mean < high
    # Half-width close to the normal approximation 1.96 sd / sqrt(n) (sd with ddof=0).
    half = 1.96 * np.std(differences) / np.sqrt(len(differences))
    assert (high - low) / 2 == pytest.approx(half, rel=0.15)


def test_paired_bootstrap_interval_of_a_constant_shift_is_that_shift_and_nan_is_dropped():
    assert paired_bootstrap_interval([0.1, 0.1, np.nan, 0.1]) == pytest.approx((0.1, 0.1, 0.1))
    assert all(np.isnan(paired_bootstrap_interval([np.nan, None])))
    with pytest.raises(ValueError, match="confidence"):
        paired_bootstrap_interval([0.1], confidence=1.0)
