"""The ingest stage's contract with a dataset's own ingest.py, and the byte-stable CSV it writes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipelines.data import DataError, ingest
from pipelines.data._csv import read_csv, write_csv
from pipelines.repo.layout import Repo

DATASET_YAML = (
    "name: tiny\ndescription: d\nlicense: MIT\nsource: s\nkind: text\ntext_column: text\ningest: {n: 3}\n"
)


def _repo(root: Path, ingest_py: str) -> Repo:
    folder = root / "datasets" / "tiny"
    folder.mkdir(parents=True)
    (folder / "dataset.yaml").write_text(DATASET_YAML)
    (folder / "ingest.py").write_text(ingest_py)
    return Repo(root)


def test_ingest_passes_dataset_yaml_arguments_and_writes_raw_csv(tmp_path: Path) -> None:
    repo = _repo(
        tmp_path,
        "import pandas as pd\n"
        "def ingest(n):\n"
        "    return pd.DataFrame({'text': [f't{i}' for i in range(n)], 'label': ['a'] * n})\n",
    )
    path = ingest(repo, "tiny")
    assert path == tmp_path / "datasets" / "tiny" / "data" / "raw.csv"
    assert path.read_text() == "text,label\nt0,a\nt1,a\nt2,a\n"


def test_ingest_returning_no_dataframe_is_an_error_naming_the_file(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "def ingest(n):\n    return [1, 2]\n")
    with pytest.raises(DataError, match=r"tiny: .*ingest.py: ingest\(\) returned list"):
        ingest(repo, "tiny")


def test_ingest_without_a_promised_column_is_an_error(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "import pandas as pd\ndef ingest(n):\n    return pd.DataFrame({'text': ['x']})\n")
    with pytest.raises(DataError, match=r"no column\(s\) \['label'\] promised by dataset.yaml"):
        ingest(repo, "tiny")


def test_an_argument_the_function_does_not_take_is_an_error(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "def ingest():\n    return None\n")
    with pytest.raises(DataError, match=r"ingest\(\*\*\{'n': 3\}\) failed"):
        ingest(repo, "tiny")


def test_csv_floats_are_written_without_binary_noise_and_read_back_exactly(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [0.1 + 0.2, 1001.0, 0.07871], "label": ["1", "NA", "null"]})
    path = write_csv(frame, tmp_path / "f.csv")
    assert path.read_text() == "x,label\n0.3,1\n1001,NA\n0.07871,null\n"
    back = read_csv(path, string_columns=("label",))
    assert back["label"].tolist() == ["1", "NA", "null"]
    assert back["x"].tolist() == [0.3, 1001.0, 0.07871]
