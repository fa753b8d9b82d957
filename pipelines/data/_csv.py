"""CSV reading and writing with byte-stable output.

CSV rather than parquet: the bytes, hence the md5 data versions in dvc.lock, must not change when pandas
or pyarrow are upgraded. Everything that could vary is fixed here: `\n` line endings, UTF-8, no index,
floats printed with `%.10g` (the bundled sources carry at most ~6 significant digits, so this round-trips
exactly and never prints `0.30000000000000004` noise), and only empty fields read back as missing (so an
utterance that says "NA" or "null" stays text).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.data.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

FLOAT_FORMAT = "%.10g"  # exact for the sources' precision; stable across pandas versions


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write `frame` as stable CSV, atomically (a crash never leaves half a file for DVC to hash)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    frame.to_csv(tmp, index=False, float_format=FLOAT_FORMAT, lineterminator="\n", encoding="utf-8")
    tmp.replace(path)
    return path


def read_csv(path: Path, *, string_columns: tuple[str, ...] = (), dataset: str = "") -> pd.DataFrame:
    """Read a CSV written by `write_csv`; `string_columns` are never type-inferred (labels, texts)."""
    import pandas as pd

    if not path.is_file():
        raise DataError(f"{dataset or 'dataset'}: {path} does not exist")
    try:
        return pd.read_csv(
            path,
            keep_default_na=False,
            na_values=[""],
            dtype={column: str for column in string_columns},
            encoding="utf-8",
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{dataset or 'dataset'}: cannot read {path}: {exc}") from exc


def string_columns(kind: str, label_column: str, text_column: str | None) -> tuple[str, ...]:
    """Columns read as strings for a dataset kind: always the label, and the text for text datasets."""
    return (label_column, text_column) if kind == "text" and text_column else (label_column,)
