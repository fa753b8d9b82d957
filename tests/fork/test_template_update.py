"""`aip template update`: an upstream release reaches a fork as a plain git merge (docs/upgrading.md).

Real git in tmp_path. The upstream is a slim template: platform.yaml, every file `aip render` derives
from it (copied from this checkout), a CHANGELOG, .gitignore and one hand-written doc; tags v0.1.0 and
v0.2.0. v0.2.0 changes the doc (not derived), one line of a derived file that the fork's render also
changed (a conflict the update settles by rendering), adds a line holding the template's image
registry to another derived file (a clean merge the render fixes), and changes platform.yaml both
where the fork changed it and where it did not. The fork (fork-co) is a clone at v0.1.0, or a
repository with no shared history ("Use this template"). The pull request is opened against the
recorded GitHub API on 127.0.0.1 (tests/support/github_api.py): GitHub is unreachable here.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from pipelines.config import load_platform
from pipelines.fork.template import (
    TemplateError,
    changelog_between,
    check_changelog,
    derived_paths,
    parse_changelog,
    publish_release,
    read_answers,
    release_notes,
)
from pipelines.github import GitHub
from tests.support.cli import run_aip
from tests.support.git import git
from tests.support.github_api import RecordedGitHub
from tests.support.repo import REPO_ROOT

T = load_platform(REPO_ROOT / "platform.yaml").organisation  # the template's values (this checkout's)
FORK = ("fork-co", "fork-co/platform", "ghcr.io/fork-co", "fork-co.internal", "210987654321")
FORK_REGISTRY, FORK_DOMAIN = FORK[2], FORK[3]
NO_GITHUB = {"GITHUB_TOKEN": "", "GITHUB_REPOSITORY": "", "AIP_TEMPLATE_UPSTREAM": ""}
ROUTE = "infra/k8s/base/model-server/httproute.yaml"  # derived: the serving host
OVERLAY = "infra/k8s/overlays/dev/kustomization.yaml"  # derived: image names
GUIDE = "docs/guide.md"  # hand-written, not derived

CHANGELOG_V1 = """# Changelog

## [Unreleased]

## [0.1.0] - 2026-11-30

### Added
- The first release.
"""
CHANGELOG_V2 = CHANGELOG_V1.replace(
    "## [Unreleased]\n",
    "## [Unreleased]\n\n## [0.2.0] - 2026-12-01\n\n### Changed\n- The serving route names its host.\n",
)


def _aip(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    proc = run_aip(root, *args, env={**NO_GITHUB, **(env or {})}, timeout=300)
    return proc.returncode, proc.stdout + proc.stderr


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path}: {old!r} not found"
    path.write_text(text.replace(old, new, 1))


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The slim template with tags v0.1.0 and v0.2.0."""
    root = tmp_path_factory.mktemp("upstream")
    copies = [
        *sorted(derived_paths(REPO_ROOT)),
        "platform.yaml",
        "infra/k8s/platform/render_rules.py",
        ".gitignore",
    ]
    for rel in copies:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / rel, root / rel)
    (root / "CHANGELOG.md").write_text(CHANGELOG_V1)
    (root / "docs").mkdir()
    (root / GUIDE).write_text("# Guide\n\nStep one: read platform.yaml.\n\nStep two: run aip render.\n")
    code, out = _aip(root, "render")  # the checkout may be mid-edit: start from a consistent template
    assert code == 0, out
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "template 0.1.0")
    git(root, "tag", "v0.1.0")

    (root / "CHANGELOG.md").write_text(CHANGELOG_V2)
    _replace(
        root / GUIDE, "Step one: read platform.yaml.", "Step one: read platform.yaml and docs/upgrading.md."
    )
    _replace(
        root / ROUTE,
        f"- models.dev.{T.domain}",
        f"- models.dev.{T.domain} # the serving host",
    )
    (root / OVERLAY).write_text(
        (root / OVERLAY).read_text() + f"# mirror: {T.image_registry}/ai-platform-serving\n"
    )
    platform = (root / "platform.yaml").read_text()
    platform = re.sub(r"^(  domain: .*)$", r"\1 # the services' DNS zone", platform, count=1, flags=re.M)
    (root / "platform.yaml").write_text(platform)
    _replace(root / "platform.yaml", "default_environment: local", "default_environment: local  # aip run's")
    git(root, "commit", "-qam", "template 0.2.0")
    git(root, "tag", "v0.2.0")
    return root


def _make_yours(fork: Path) -> str:
    """What `aip init` does to the values: fork-co's in platform.yaml, then `aip render`; the new text."""
    text = (fork / "platform.yaml").read_text()
    lines = []
    for line in text.splitlines(keepends=True):
        if not line.lstrip().startswith("upstream:"):  # the template stays the template
            for old, new in zip(
                (T.repository, T.image_registry, T.domain, T.account_id), FORK[1:], strict=True
            ):
                line = line.replace(old, new)
            if line.startswith("  name: "):
                line = line.replace(T.name, FORK[0])
        lines.append(line)
    text = "".join(lines)
    (fork / "platform.yaml").write_text(text)
    code, out = _aip(fork, "render")
    assert code == 0, out
    git(fork, "commit", "-qam", "fork-co: our values")
    return text


@pytest.fixture
def fork(upstream: Path, tmp_path: Path) -> Path:
    """A clone of the template at v0.1.0, made fork-co's."""
    root = tmp_path / "fork"
    git(tmp_path, "clone", "-q", "--branch", "v0.1.0", str(upstream), str(root))
    git(root, "switch", "-q", "-c", "main")
    _make_yours(root)
    return root


def _expected_platform(before: str) -> str:
    """The fork's platform.yaml after the update: its own domain line, the upstream's other change."""
    return before.replace("default_environment: local", "default_environment: local  # aip run's", 1)


def test_update_merges_the_release_keeps_platform_yaml_and_renders_derived_files(
    upstream: Path, fork: Path
) -> None:
    before = (fork / "platform.yaml").read_text()
    code, out = _aip(fork, "template", "update", "--upstream", str(upstream), "--to", "v0.2.0")
    assert code == 0, out
    assert "pull request was NOT opened" in out

    assert git(fork, "rev-parse", "--abbrev-ref", "HEAD") == "template/update-v0.2.0"
    parents = git(fork, "rev-list", "--parents", "-n", "1", "HEAD").split()[1:]
    assert parents == [git(fork, "rev-parse", "main"), git(upstream, "rev-parse", "v0.2.0^{commit}")]
    assert git(fork, "status", "--porcelain") == ""

    # platform.yaml: the fork's values (its side of the conflicting domain line), upstream's other change
    assert (fork / "platform.yaml").read_text() == _expected_platform(before)
    # the hand-written file: upstream's change
    assert "docs/upgrading.md" in (fork / GUIDE).read_text()
    # derived files: upstream's changes, the fork's values, nothing of the template's organisation
    route = (fork / ROUTE).read_text()
    assert f"- models.dev.{FORK_DOMAIN} # the serving host" in route
    assert f"# mirror: {FORK_REGISTRY}/ai-platform-serving" in (fork / OVERLAY).read_text()
    for rel in derived_paths(fork):
        text = (fork / rel).read_text()
        assert not [v for v in (T.domain, T.image_registry, T.repository) if v in text], rel
        assert "<<<<<<<" not in (fork / rel).read_text(), rel
    code, out = _aip(fork, "render", "--check")
    assert code == 0, out

    answers = read_answers(fork)
    assert answers is not None
    assert (answers.version, answers.commit) == ("v0.2.0", git(upstream, "rev-parse", "v0.2.0^{commit}"))

    body = (fork / ".aip/template/update-pr.md").read_text()
    assert "## Template update: v0.1.0 → v0.2.0" in body
    assert "#### [0.2.0] - 2026-12-01" in body and "The serving route names its host." in body
    assert "[0.1.0]" not in body  # the release the fork was on is not news
    regenerated = body.split("### Files regenerated from platform.yaml")[1].split("###")[0]
    assert f"`{OVERLAY}`" in regenerated and f"`{ROUTE}`" in regenerated
    conflicts = body.split("### Conflicts left for a human")[1].split("###")[0]
    assert "None." in conflicts
    assert "`platform.yaml` conflicted" in body

    # the next run finds nothing to do
    head = git(fork, "rev-parse", "HEAD")
    code, out = _aip(fork, "template", "update", "--upstream", str(upstream))
    assert code == 0, out
    assert "up to date: this repository is on v0.2.0" in out
    assert git(fork, "rev-parse", "HEAD") == head


def test_a_conflict_in_a_hand_written_file_is_committed_and_reported(upstream: Path, fork: Path) -> None:
    _replace(fork / GUIDE, "Step one: read platform.yaml.", "Step one: read our platform.yaml.")
    git(fork, "commit", "-qam", "our guide")
    code, out = _aip(fork, "template", "update", "--upstream", str(upstream), "--to", "v0.2.0")
    assert code == 1, out
    assert f"conflicts left for a human: {GUIDE}" in out
    guide = (fork / GUIDE).read_text()
    assert "<<<<<<<" in guide and "read our platform.yaml" in guide and "docs/upgrading.md" in guide
    assert git(fork, "status", "--porcelain") == ""  # committed on the branch, for a human to resolve
    body = (fork / ".aip/template/update-pr.md").read_text()
    conflicts = body.split("### Conflicts left for a human")[1].split("###")[0]
    assert f"- [ ] `{GUIDE}`" in conflicts
    assert FORK_DOMAIN in (fork / ROUTE).read_text()  # the rest of the update is done all the same


def test_a_fork_without_shared_history_merges_from_the_release_it_was_made_from(
    upstream: Path, tmp_path: Path
) -> None:
    """GitHub's "Use this template" copies the files, not the history: the answers file names the base."""
    root = tmp_path / "generated"
    git(tmp_path, "clone", "-q", "--branch", "v0.1.0", str(upstream), str(root))
    shutil.rmtree(root / ".git")
    base = git(upstream, "rev-parse", "v0.1.0")
    (root / ".aip-template.yaml").write_text(
        f"upstream: template-co/ai-platform\nversion: v0.1.0\ncommit: {base}\n"
    )
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "Initial commit")
    before = _make_yours(root)

    code, out = _aip(root, "template", "update", "--upstream", str(upstream))  # --to latest
    assert code == 0, out
    assert "no shared history: recorded v0.1.0" in out
    assert (root / "platform.yaml").read_text() == _expected_platform(before)
    assert "docs/upgrading.md" in (root / GUIDE).read_text()
    assert f"- models.dev.{FORK_DOMAIN} # the serving host" in (root / ROUTE).read_text()
    assert "shares no history with the template" in (root / ".aip/template/update-pr.md").read_text()


def test_update_pushes_the_branch_and_opens_the_pull_request(
    upstream: Path, fork: Path, tmp_path: Path
) -> None:
    remote = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(fork, "remote", "set-url", "origin", str(remote))
    with RecordedGitHub(token="t0ken") as gh:
        gh.route("GET", r"/repos/fork-co/platform/pulls", [])
        gh.route(
            "POST",
            r"/repos/fork-co/platform/pulls",
            lambda req: (201, {"number": 12, "html_url": "https://github.com/fork-co/platform/pull/12"}),
        )
        gh.route("POST", r"/repos/fork-co/platform/issues/12/labels", [{"name": "template-update"}])
        env = {"GITHUB_TOKEN": "t0ken", "GITHUB_REPOSITORY": "fork-co/platform", "GITHUB_API_URL": gh.url}
        code, out = _aip(fork, "template", "update", "--upstream", str(upstream), env=env)
    assert code == 0, out
    assert "pull request #12 opened: https://github.com/fork-co/platform/pull/12" in out
    assert git(remote, "rev-parse", "refs/heads/template/update-v0.2.0") == git(fork, "rev-parse", "HEAD")
    (opened,) = gh.calls("POST", r"/repos/fork-co/platform/pulls")
    assert opened.body["head"] == "template/update-v0.2.0" and opened.body["base"] == "main"
    assert opened.body["title"] == "Template update: v0.1.0 → v0.2.0"
    assert "The serving route names its host." in opened.body["body"]
    assert gh.calls("POST", r"/repos/fork-co/platform/issues/12/labels")[0].body == {
        "labels": ["template-update"]
    }


def test_changelog_between_two_versions_excludes_the_first_and_includes_the_last() -> None:
    releases = parse_changelog(
        CHANGELOG_V2.replace("## [0.2.0]", "## [0.3.0] - 2026-12-09\n\n- Three.\n\n## [0.2.0]")
    )
    assert [r.version for r in releases] == ["Unreleased", "0.3.0", "0.2.0", "0.1.0"]
    assert [r.version for r in changelog_between(releases, "v0.1.0", "v0.3.0")] == ["0.3.0", "0.2.0"]
    assert [r.version for r in changelog_between(releases, None, "0.2.0")] == ["0.2.0", "0.1.0"]
    with pytest.raises(TemplateError, match=r"no section '## \[0.4.0\]'"):
        changelog_between(releases, "v0.1.0", "v0.4.0")


def test_changelog_check_names_a_version_without_its_section(tmp_path: Path) -> None:
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "__init__.py").write_text('__version__ = "0.2.0"\n')
    (tmp_path / "CHANGELOG.md").write_text(CHANGELOG_V1)
    (problem,) = check_changelog(tmp_path)
    assert "no section '## [0.2.0] - DATE'" in problem
    (tmp_path / "CHANGELOG.md").write_text(CHANGELOG_V2)
    assert check_changelog(tmp_path) == []


def test_the_repository_changelog_has_a_section_for_its_version() -> None:
    assert check_changelog(REPO_ROOT) == []


def test_release_publishes_the_tag_section_as_the_github_release(tmp_path: Path) -> None:
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "__init__.py").write_text('__version__ = "0.2.0"\n')
    (tmp_path / "CHANGELOG.md").write_text(CHANGELOG_V2)
    with pytest.raises(
        TemplateError, match=r"tag v0\.3\.0 does not match pipelines/__init__\.py.s __version__ 0\.2\.0"
    ):
        release_notes(tmp_path, "v0.3.0")
    with RecordedGitHub(token="t") as gh:
        gh.route(
            "POST", r"/repos/template-co/ai-platform/releases", {"id": 5, "html_url": "https://x/5"}, 201
        )
        answer = publish_release(tmp_path, "v0.2.0", GitHub("template-co/ai-platform", "t", api_url=gh.url))
    assert answer["id"] == 5
    (call,) = gh.calls("POST", r"/repos/template-co/ai-platform/releases")
    assert call.body == {
        "tag_name": "v0.2.0",
        "name": "v0.2.0",
        "body": "### Changed\n- The serving route names its host.",
        "prerelease": False,
    }
