"""The one markdown table layout of the reports (Table 1 and Table 2, per run and per seed)."""

from __future__ import annotations

from typing import Sequence


def format_score(value: float | None) -> str:
    """A score with 3 decimals; "n/a" where there is none (None or NaN)."""
    return "n/a" if value is None or value != value else f"{value:.3f}"


def markdown_table(header: Sequence[str], cells: dict[str, Sequence[str]], *, title: str | None = None,
                   paper: dict[str, Sequence[float | None]] | None = None) -> str:
    """A markdown table: one row per `cells` entry, then the paper's rows ("paper: <name>").

    Args:
      header: column titles, the row-name column first.
      cells: {row name: formatted values in column order}.
      title: a "### title" line above the table, if given.
      paper: {row name: the paper's values}, formatted by `format_score`.
    """
    lines = [f"### {title}", ""] if title else []
    lines += ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += [f"| {name} | " + " | ".join(values) + " |" for name, values in cells.items()]
    lines += [f"| paper: {name} | " + " | ".join(map(format_score, values)) + " |"
              for name, values in (paper or {}).items()]
    return "\n".join(lines) + "\n"
