"""Pull requests from the continuous-training loop: new data, and drift (docs/continuous-training.md).

    aip data refresh DATASET --env dev           # new rows? validate, version, push; dvc.lock changes
    aip ci data-pr DATASET                       # propose that dvc.lock: branch data/<dataset>-<hash>
    aip ci retrain-pr MODEL --drift-report DIR   # drift found: refresh, then a retraining PR (or issue)

A dvc.lock change is all a retraining needs: a model's fingerprint includes its dataset's version, so
merging the PR makes the deploy pipeline train, evaluate (the gates), register and canary the model
like any other change. The commit is made through the GitHub API (a branch from the base's tip, the
file put on it), so the workflow needs no git credentials; without a token the body is printed and
written to the job summary instead, and the command says the PR was not opened.

When drift is found but the source has no newer data, retraining would reproduce the same model (same
fingerprint: nothing would run), so no PR is opened: an issue labelled `retraining` says so instead,
with the drift summary, for a person to decide (label data, widen the source, change the model).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pipelines.data.refresh import RefreshResult, record_path
from pipelines.errors import AipError
from pipelines.git import GitError, git
from pipelines.repo.affected import affected

if TYPE_CHECKING:
    from pipelines.github import GitHub
    from pipelines.repo.layout import Repo

DATA_LABEL = "data"
RETRAIN_LABEL = "retraining"
_TOP_FEATURES = 10


class LoopError(AipError):
    """A loop command that cannot go on (no refresh record, an unreadable drift report)."""


@dataclass
class Proposal:
    kind: Literal["pull_request", "issue"]
    title: str
    body: str
    branch: str | None = None
    opened: bool = False
    """True when the PR/issue exists on GitHub now (created or updated)."""
    created: bool = False
    number: int | None = None
    url: str = ""

    def describe(self) -> str:
        what = "pull request" if self.kind == "pull_request" else "issue"
        if not self.opened:
            return (
                f"{what} not opened: no GITHUB_TOKEN and GITHUB_REPOSITORY; its body is above "
                f"(title: {self.title})"
            )
        verb = "opened" if self.created else "updated"
        return f"{verb} {what} #{self.number}: {self.url or self.title}"


# -- what changed -----------------------------------------------------------------------------------
def load_record(repo: Repo, dataset: str) -> RefreshResult:
    """The last `aip data refresh` of `dataset` (<state_dir>/refresh/<dataset>.json)."""
    path = record_path(repo, dataset)
    if not path.is_file():
        raise LoopError(f"{dataset}: {path} does not exist: run `aip data refresh {dataset}` first")
    return RefreshResult.read(path)


def lock_differs_from_head(repo: Repo, lock: str) -> bool:
    """Whether the work tree's dvc.lock differs from the committed one (a new file counts)."""
    current = (repo.root / lock).read_bytes()
    try:
        committed = git(repo.root, "show", f"HEAD:{lock}").encode("utf-8")
    except GitError:
        return True
    return current != committed


def retrained_by(repo: Repo, lock: str) -> tuple[list[str], list[str]]:
    """(models, prompts) a change of `lock` reaches (the rules of `aip affected`)."""
    reach = affected(repo, [lock])
    return sorted(reach.models), sorted(reach.prompts)


def data_environment(repo: Repo) -> str:
    """Where the loop's new data goes: the first environment of the promotion order that trains (its
    DVC remote is the one the deploy pipeline pulls from), else platform.yaml's default_environment."""
    platform = repo.platform
    for name in platform.promotion_order:
        if platform.environments[name].train:
            return name
    return platform.default_environment


def short(record: RefreshResult) -> str:
    return (record.version_after or record.raw_md5_after)[:8]


def data_change_markdown(repo: Repo, record: RefreshResult) -> str:
    """The data section of a PR body: rows, hashes, examples of new rows, validation, remote."""
    models, prompts = retrained_by(repo, record.lock)
    before = "unknown" if record.rows_before is None else str(record.rows_before)
    lines = [
        f"### Data: `{record.dataset}`",
        "",
        "| | before | after |",
        "| --- | --- | --- |",
        f"| rows | {before} | {record.rows_after} |",
        f"| `data/raw.csv` md5 | `{record.raw_md5_before or '-'}` | `{record.raw_md5_after}` |",
        f"| data version | `{record.version_before or '-'}` | `{record.version_after or '-'}` |",
        "",
    ]
    if record.added is not None:
        lines.append(
            f"**{record.added} row(s) added, {record.removed} removed** (whole rows compared as text)."
        )
        for title, examples in (
            ("New rows", record.added_examples),
            ("Removed rows", record.removed_examples),
        ):
            if examples:
                lines += ["", f"{title} (first {len(examples)}):", "", *_table(examples)]
    else:
        lines.append("Rows added/removed: unknown (the previous version was not in the DVC remote).")
    lines += [
        "",
        f"**Validation** (Great Expectations): {record.validation or 'not run'}",
        "",
        "**Stored**: "
        + (f"pushed to the DVC remote `{record.remote}`" if record.remote else "NOT pushed (--no-push)"),
        "",
        "**Retrains on merge**: "
        + (", ".join(f"`{m}`" for m in models) if models else "no model reads this dataset")
        + (f"; re-indexes for prompts {', '.join(f'`{p}`' for p in prompts)}" if prompts else "")
        + " (a fingerprint includes its data version, so the deploy pipeline trains, gates, registers "
        "and canaries them like any change).",
    ]
    return "\n".join(lines)


def _table(rows: list[dict[str, Any]]) -> list[str]:
    columns = list(rows[0])
    out = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    for row in rows:
        cells = [str(row.get(c, "")).replace("|", "\\|").replace("\n", " ")[:80] for c in columns]
        out.append("| " + " | ".join(cells) + " |")
    return out


def data_pr_body(repo: Repo, record: RefreshResult) -> str:
    return "\n".join(
        [
            f"Scheduled ingestion found new data for `{record.dataset}` (`aip data refresh "
            f"{record.dataset} --env {record.env}`). This PR changes only `{record.lock}`.",
            "",
            data_change_markdown(repo, record),
            "",
            "_Opened by `aip ci data-pr` (.github/workflows/ingest.yml); docs/continuous-training.md._",
        ]
    )


# -- drift ------------------------------------------------------------------------------------------
def read_drift_reports(path: Path) -> list[dict[str, Any]]:
    """report.json files of `aip drift`: the file itself, or every `*/drift/report.json` of a model
    under a folder (drift.yml downloads them into .aip/reports/<env>/<model>/drift/)."""
    folder = path.is_dir()
    files = (
        [path / "report.json"]
        if (path / "report.json").is_file()
        else sorted(path.rglob("drift/report.json"))
    )
    files = files if folder else [path]
    if not folder and not path.is_file():
        raise LoopError(
            f"no drift report at {path} (expected `aip drift`'s report.json, or a folder of them)"
        )
    reports = []
    for file in files:
        try:
            report = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise LoopError(f"{file}: not a drift report: {exc}") from None
        if not isinstance(report, dict) or "model" not in report or "status" not in report:
            if folder:  # a prompt's query-drift summary, say: not a model's report
                continue
            raise LoopError(f"{file}: not a drift report (no 'model' and 'status'; written by `aip drift`?)")
        report["_path"] = str(file)
        reports.append(report)
    return reports


def drift_markdown(report: dict[str, Any]) -> str:
    """The drift section: verdict, window, reasons, live quality, the drifted features."""
    lines = [
        f"### Drift: `{report['model']}` in `{report.get('env', '?')}`",
        "",
        f"Verdict **{report['status'].replace('_', ' ')}** on {report.get('samples', '?')} sampled "
        f"request(s) (model versions {', '.join(report.get('versions') or []) or '-'}) between "
        f"{report.get('since', '?')} and {report.get('until', '?')} (reference: "
        f"{report.get('reference_rows', '?')} training rows).",
        "",
    ]
    lines += [f"- {reason}" for reason in report.get("reasons") or []]
    quality = report.get("quality") or {}
    if quality.get("labelled"):
        lines += [
            "",
            f"Live quality on {quality['labelled']} labelled request(s): accuracy {quality['accuracy']:.3f}"
            f" (minimum {quality.get('min_accuracy')}), macro-F1 {quality['macro_f1']:.3f}.",
        ]
    drifted = [f for f in report.get("features") or [] if f.get("drifted")]
    if drifted:
        drifted.sort(key=lambda f: -float((f.get("stats") or {}).get("psi", 0.0)))
        lines += ["", "| drifted feature | test | score | threshold |", "| --- | --- | --- | --- |"]
        lines += [
            f"| {f['feature']} | {f['method']} | {float(f['score']):.4g} | {f['threshold']} |"
            for f in drifted[:_TOP_FEATURES]
        ]
        if len(drifted) > _TOP_FEATURES:
            lines.append(f"| ... {len(drifted) - _TOP_FEATURES} more | | | |")
    for note in report.get("notes") or []:
        lines.append(f"\n_note: {note}_")
    return "\n".join(lines)


def retrain_pr_body(repo: Repo, report: dict[str, Any], record: RefreshResult) -> str:
    return "\n".join(
        [
            f"`aip drift {report['model']} --env {report.get('env', '?')}` found drift, and the source of "
            f"`{record.dataset}` has newer data. Merging this PR retrains `{report['model']}` on it: the "
            "normal gates (evaluation, behavioural tests, regression against the champion) and the "
            "canary decide whether the new version ships.",
            "",
            drift_markdown(report),
            "",
            data_change_markdown(repo, record),
            "",
            "_Opened by `aip ci retrain-pr` (.github/workflows/drift.yml); docs/continuous-training.md._",
        ]
    )


def no_new_data_body(report: dict[str, Any], record: RefreshResult) -> str:
    return "\n".join(
        [
            f"`aip drift {report['model']} --env {report.get('env', '?')}` found drift, but the source of "
            f"`{record.dataset}` has **no newer data** (raw.csv md5 `{record.raw_md5_after}`, "
            f"{record.rows_after} rows, the version dvc.lock records). Retraining on the same data would "
            "reproduce the same model (same fingerprint), so no pull request was opened.",
            "",
            "What a person can do: label recent requests and add them to the source (the next "
            "refresh opens the PR), widen or fix the source, or change the model "
            "(docs/runbooks/drift-detected.md).",
            "",
            drift_markdown(report),
            "",
            "_Written by `aip ci retrain-pr` (.github/workflows/drift.yml); docs/continuous-training.md._",
        ]
    )


# -- GitHub -----------------------------------------------------------------------------------------
def publish_lock(
    gh: GitHub, repo: Repo, record: RefreshResult, branch: str, base: str, title: str, body: str, label: str
) -> Proposal:
    """Branch `branch` from `base`'s tip (when new), put the work tree's dvc.lock on it, open/update a PR.

    One branch per data version (`data/<dataset>-<hash>`): the scheduled ingestion and the drift loop
    that find the same new data meet in one PR. The retraining PR's title and body (drift summary
    and data change) replace the data PR's; a later data-pr run leaves a PR labelled `retraining` as
    it is."""
    base_sha = gh.branch_sha(base)
    if base_sha is None:
        raise LoopError(f"{gh.slug}: base branch {base!r} does not exist")
    if gh.branch_sha(branch) is None:
        gh.create_branch(branch, base_sha)
    content = (repo.root / record.lock).read_bytes()
    gh.put_file(branch, record.lock, content, title)
    if label == DATA_LABEL:  # a retraining PR for this data version says more: keep its title and body
        for pr_open in gh.get(f"pulls?state=open&head={gh.owner}:{branch}&base={base}") or []:
            if any(item.get("name") == RETRAIN_LABEL for item in pr_open.get("labels") or []):
                number, url = int(pr_open["number"]), str(pr_open.get("html_url", ""))
                return Proposal("pull_request", title, body, branch, True, False, number, url)
    pr = gh.open_or_update_pull_request(branch, base, title, body, labels=(label,))
    return Proposal("pull_request", title, body, branch, True, pr.created, pr.number, pr.url)


def open_or_update_issue(gh: GitHub, title: str, body: str, label: str) -> Proposal:
    """The open issue with this title and label, its body replaced; else a new one."""
    found = [
        issue
        for issue in gh.get(f"issues?state=open&labels={label}&per_page=100") or []
        if issue.get("title") == title and "pull_request" not in issue
    ]
    if found:
        number = int(found[0]["number"])
        answer = gh.patch(f"issues/{number}", {"body": body})
        created = False
    else:
        answer = gh.post("issues", {"title": title, "body": body, "labels": [label]})
        number, created = int(answer["number"]), True
    return Proposal("issue", title, body, None, True, created, number, str(answer.get("html_url", "")))


def data_proposal(repo: Repo, record: RefreshResult, gh: GitHub | None, base: str = "main") -> Proposal:
    branch = f"data/{record.dataset}-{short(record)}"
    title = f"data: new {record.dataset} version {short(record)} ({_rows_change(record)})"
    body = data_pr_body(repo, record)
    if gh is None:
        return Proposal("pull_request", title, body, branch)
    return publish_lock(gh, repo, record, branch, base, title, body, DATA_LABEL)


def retrain_proposal(
    repo: Repo, report: dict[str, Any], record: RefreshResult, gh: GitHub | None, base: str = "main"
) -> Proposal:
    model, env = report["model"], report.get("env", "?")
    if record.changed and lock_differs_from_head(repo, record.lock):
        branch = f"data/{record.dataset}-{short(record)}"  # one PR per data version: ingest's, if open
        title = f"retrain {model}: drift in {env}, new {record.dataset} data {short(record)}"
        body = retrain_pr_body(repo, report, record)
        if gh is None:
            return Proposal("pull_request", title, body, branch)
        return publish_lock(gh, repo, record, branch, base, title, body, RETRAIN_LABEL)
    title = f"drift in {model} ({env}): no newer data to retrain on"
    body = no_new_data_body(report, record)
    if gh is None:
        return Proposal("issue", title, body)
    return open_or_update_issue(gh, title, body, RETRAIN_LABEL)


def _rows_change(record: RefreshResult) -> str:
    if record.added is not None:
        return f"+{record.added}/-{record.removed} rows"
    return f"{record.rows_after} rows"
