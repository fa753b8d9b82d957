"""`aip data refresh DATASET --env ENV`: ingest again from a source that changes; version what is new.

The DVC ingest stage depends on files (ingest.py, dataset.yaml), not on the database or API that
ingest.py reads, so `dvc repro` alone never notices new rows. Refresh reads the source anyway:

1. point DVC at the environment's remote and pull the locked data (the rows before, for the diff);
2. run the dataset's ingest (pipelines/data/ingest.py → ingest.py → pipelines/data/sources.py);
3. the new `data/raw.csv` has the md5 dvc.lock records → "up to date", nothing else runs;
4. otherwise validate it with the Great Expectations suite: failing expectations stop here, dvc.lock
   untouched and the previous raw.csv restored (DataValidationError with the one-screen summary);
5. `dvc commit` the new raw.csv as the ingest stage's output (its file deps did not change, so `dvc
   repro` alone would restore the cached one), `dvc repro` the rest (validate → split/index), `dvc push`
   to the remote, and leave the updated dvc.lock in the work tree for `aip ci data-pr` or
   `aip ci retrain-pr` to propose.

Any failure after step 2 puts dvc.lock (and raw.csv, when the previous one was pulled) back as they were.
The result is also written to `<state_dir>/refresh/<dataset>.json`, which the PR body is made from.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipelines.data._paths import display, lock_file, raw_csv
from pipelines.data.dvc import configure_remote, run_dvc
from pipelines.data.errors import DataError, DataValidationError
from pipelines.data.version import RAW_OUT, data_version
from pipelines.repo.layout import Repo

EXAMPLE_ROWS = 5  # added/removed rows quoted in the result (and the PR body)
_TAIL_LINES = 15


@dataclass
class RefreshResult:
    dataset: str
    env: str
    changed: bool
    lock: str
    """dvc.lock, relative to the repo root."""
    rows_before: int | None
    """Rows of the locked raw.csv; None when the remote did not have it (nothing to compare)."""
    rows_after: int
    raw_md5_before: str | None
    raw_md5_after: str
    version_before: str | None
    version_after: str | None
    added: int | None = None
    removed: int | None = None
    added_examples: list[dict[str, Any]] = field(default_factory=list)
    removed_examples: list[dict[str, Any]] = field(default_factory=list)
    validation: str = ""
    """The Great Expectations summary line of the new data."""
    remote: str | None = None
    """The DVC remote the new version was pushed to; None with --no-push or no change."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def read(cls, path: Path) -> RefreshResult:
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as exc:
            raise DataError(f"cannot read the refresh record {path}: {exc}") from None

    def lines(self) -> list[str]:
        """What `aip data refresh` prints."""
        if not self.changed:
            return [f"{self.dataset}: up to date ({self.rows_after} rows, raw.csv md5 {self.raw_md5_after})"]
        before = "unknown (not in the remote)" if self.rows_before is None else str(self.rows_before)
        out = [
            f"{self.dataset}: new data: rows {before} -> {self.rows_after}"
            + (f" (+{self.added} added, -{self.removed} removed)" if self.added is not None else ""),
            f"  raw.csv md5  {self.raw_md5_before or '-'} -> {self.raw_md5_after}",
            f"  data version {self.version_before or '-'} -> {self.version_after}",
            f"  {self.validation}",
            f"  {self.lock} updated"
            + (f", data pushed to {self.remote}" if self.remote else " (not pushed)"),
        ]
        return out


def record_path(repo: Repo, dataset: str) -> Path:
    """`<state_dir>/refresh/<dataset>.json`: the last refresh's result, read by the PR commands."""
    return repo.state_dir / "refresh" / f"{dataset}.json"


def locked_md5(repo: Repo, dataset: str) -> str | None:
    """The md5 dvc.lock records for `data/raw.csv` (None when there is no lock or no such output)."""
    from ruamel.yaml import YAML

    lock = lock_file(repo, dataset)
    if not lock.is_file():
        return None
    data = YAML(typ="safe").load(lock.read_text(encoding="utf-8")) or {}
    for stage in (data.get("stages") or {}).values():
        for out in stage.get("outs") or []:
            if str(out.get("path", "")).rstrip("/") == RAW_OUT:
                return str(out.get("md5") or "") or None
    return None


def refresh(repo: Repo, dataset: str, env: str | None = None, *, push: bool = True) -> RefreshResult:
    """Ingest `dataset` from its source; version, validate and push it when it changed (module docstring)."""
    from pipelines.data.ingest import ingest
    from pipelines.data.validation import validate

    cfg = repo.dataset(dataset)  # a bad or missing dataset.yaml fails here, naming the file
    env_name, _ = repo.environment(env)
    pipeline = repo.dataset_dir(dataset) / "dvc.yaml"
    lock = lock_file(repo, dataset)
    if not pipeline.is_file():
        raise DataError(f"{dataset}: {pipeline} does not exist; a dataset needs a dvc.yaml")
    if not lock.is_file():
        raise DataError(
            f"{dataset}: {lock} does not exist: run `aip data prepare {dataset}` once and commit it; "
            "refresh proposes changes to a locked version"
        )
    target = display(repo, pipeline)
    lock_before = lock.read_bytes()
    md5_before = locked_md5(repo, dataset)
    version_before = _version(repo, dataset)
    raw = raw_csv(repo, dataset)

    remote = configure_remote(repo, env_name)
    _say(dataset, f"pulling the locked version from {remote}...")
    if run_dvc(repo, "pull", "--remote", remote, target).returncode != 0:
        _say(dataset, "the remote does not hold the locked version: rows before are unknown")
    old = raw.read_bytes() if raw.is_file() else None
    if old is not None and _md5(old) != md5_before:
        old = None  # a stale local file, not the locked version

    def restore() -> None:
        lock.write_bytes(lock_before)
        if old is not None:
            raw.write_bytes(old)

    _say(dataset, "reading the source (ingest.py)...")
    try:
        ingest(repo, dataset)
    except Exception:
        restore()
        raise
    new = raw.read_bytes()
    rows_before = _rows(old) if old is not None else None
    if _md5(new) == md5_before:
        result = RefreshResult(
            dataset, env_name, False, display(repo, lock), rows_before, _rows(new), md5_before,
            _md5(new), version_before, version_before,
        )  # fmt: skip
        _write_record(repo, result)
        return result

    _say(dataset, "new data: validating (Great Expectations)...")
    report = validate(repo, dataset)
    if not report.success:
        restore()
        raise DataValidationError(report)

    # The ingest stage's deps did not change, so `dvc repro` would restore the cached raw.csv: record
    # the rows just read (and validated) as the stage's output instead, then reproduce what follows.
    last = "index" if cfg.kind == "documents" else "split"
    _say(dataset, f"versioning raw.csv, then reproducing validate -> {last}...")
    for args in (("commit", "--force", f"{target}:ingest"), ("repro", target)):
        step = run_dvc(repo, *args)
        if step.returncode != 0:
            restore()
            raise DataError(
                f"{dataset}: dvc {args[0]} failed; {display(repo, lock)} left as it was:\n{_tail(step)}"
            )
    pushed = None
    if push:
        _say(dataset, f"pushing to {remote}...")
        result_push = run_dvc(repo, "push", "--remote", remote, target)
        if result_push.returncode != 0:
            restore()
            raise DataError(
                f"{dataset}: dvc push to {remote} failed; {display(repo, lock)} left as it was (a lock "
                f"naming data the remote lacks would break every checkout):\n{_tail(result_push)}"
            )
        pushed = remote
    final = raw.read_bytes()
    result = RefreshResult(
        dataset=dataset,
        env=env_name,
        changed=True,
        lock=display(repo, lock),
        rows_before=rows_before,
        rows_after=_rows(final),
        raw_md5_before=md5_before,
        raw_md5_after=locked_md5(repo, dataset) or _md5(final),
        version_before=version_before,
        version_after=_version(repo, dataset),
        validation=report.summary().splitlines()[0],
        remote=pushed,
    )
    if old is not None:
        _diff(result, old, final)
    _write_record(repo, result)
    return result


def _version(repo: Repo, dataset: str) -> str | None:
    try:
        return data_version(repo, dataset)
    except DataError:
        return None


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _frame(data: bytes) -> Any:
    import pandas as pd

    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)


def _rows(data: bytes) -> int:
    return len(_frame(data))


def _diff(result: RefreshResult, old: bytes, new: bytes) -> None:
    """Rows added and removed (as whole rows, compared as text), with a few examples of each."""
    before, after = _frame(old), _frame(new)
    if list(before.columns) != list(after.columns):
        result.added, result.removed = len(after), len(before)  # a schema change replaces every row
        return
    merged = after.merge(before.drop_duplicates(), how="outer", indicator=True)
    added = merged[merged["_merge"] == "left_only"]
    removed = merged[merged["_merge"] == "right_only"]
    result.added, result.removed = len(added), len(removed)
    columns = list(after.columns)
    result.added_examples = added[columns].head(EXAMPLE_ROWS).to_dict("records")
    result.removed_examples = removed[columns].head(EXAMPLE_ROWS).to_dict("records")


def _write_record(repo: Repo, result: RefreshResult) -> None:
    path = record_path(repo, result.dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.as_dict(), indent=2) + "\n", encoding="utf-8")


def _tail(result: Any) -> str:
    lines = (result.stdout + result.stderr).strip().splitlines()
    return "\n".join(lines[-_TAIL_LINES:])


def _say(dataset: str, message: str) -> None:
    print(f"data: {dataset}: {message}", flush=True)
