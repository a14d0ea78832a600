"""One markdown layout for Table 1 (esgan-evaluate's table1.md and the reproduction's tables)."""

import math

from tf_esgan.evaluation.image_quality_table import TABLE1_HEADER, Table1Result, table1_markdown
from tf_esgan.evaluation.markdown_table import format_score, markdown_table


def test_table1_markdown_layout_and_missing_scores():
    result = Table1Result(tiles=[], per_image={}, mean={"ssim": 0.51234, "fsim": math.nan, "gmsd": 0.2},
                          aji=None)
    assert table1_markdown({"enhanced": result}) == (
        "| Method | SSIM↑ | FSIM↑ | GMSD↓ | AJI↑ |\n"
        "| --- | --- | --- | --- | --- |\n"
        "| enhanced | 0.512 | n/a | 0.200 | n/a |\n")  # NaN reads "n/a", as in the reproduction


def test_titled_table_with_the_papers_rows():
    text = markdown_table(TABLE1_HEADER, {"flat": ["0.100", "0.200", "0.300", "n/a"]}, title="Table 1 (tnbc)",
                          paper={"Enhanced": [0.5, None, 0.25, 0.7]})
    assert text.splitlines() == [
        "### Table 1 (tnbc)", "",
        "| Method | SSIM↑ | FSIM↑ | GMSD↓ | AJI↑ |", "| --- | --- | --- | --- | --- |",
        "| flat | 0.100 | 0.200 | 0.300 | n/a |",
        "| paper: Enhanced | 0.500 | n/a | 0.250 | 0.700 |"]
    assert format_score(None) == format_score(math.nan) == "n/a"
