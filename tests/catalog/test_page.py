"""The catalogue page in a real headless Chromium (Debian's `chromium`, scripts/system-deps.sh).

A scratch copy of the repository gets a real MLflow registry (SQLite) with registered versions and
aliases, one environment whose tracking server is down, and an evaluation report under its state dir;
`aip catalog build` renders the page; Chromium loads it from file://, and the test reads the DOM
Chromium built (`--dump-dom`) and the screenshot it took. Chromium must be installed: these tests
fail, not skip, without it.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from pipelines.repo.layout import Repo
from tests.catalog.support import catalogue_copy
from tests.support.cli import run_aip
from tests.support.ports import free_port
from tests.support.repo import edit_yaml

pytestmark = pytest.mark.slow
TUMOR, TEXT, PROMPT = "tumor-classifier", "topic-classifier", "platform-assistant"
DATA_VERSION = "0123456789abcdef0123456789abcdef"
HOSTILE = 'Topics <script>document.title="owned"</script> & <b>more</b>'


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "chromium not found on PATH: install Debian's package with `apt-get install -y chromium`"
    return path


def _browser(*args: str) -> subprocess.CompletedProcess[str]:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage"]
    return subprocess.run(
        [chromium(), *flags, *args], capture_output=True, text=True, timeout=120, check=True
    )


class _Dom(HTMLParser):
    """Links, ids, scripts and external resources of the DOM Chromium dumped; row texts by section."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()
        self.tags: list[str] = []
        self.sources: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append(tag)
        if tag == "a" and found.get("href"):
            self.hrefs.append(str(found["href"]))
        if found.get("id"):
            self.ids.add(str(found["id"]))
        if tag in ("img", "link", "script", "iframe") and (found.get("src") or found.get("href")):
            self.sources.append(str(found.get("src") or found.get("href")))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _registry(root: Path) -> None:
    """The copy's local registry: tumour v1 @local and @staging, the prompt v1 @local; no text model."""
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{root / '.aip' / 'mlflow.db'}"
    (root / ".aip").mkdir(exist_ok=True)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model(TUMOR, tags={"aip.managed": "true"})
    source = root / ".aip" / "model"
    source.mkdir()
    tags = {
        "aip.fingerprint": "f" * 64,
        "aip.data.breast-cancer": DATA_VERSION,
        "aip.metric.test_accuracy": "0.9737",
        "aip.metric.test_roc_auc": "0.9969",
    }
    client.create_model_version(TUMOR, source=str(source), tags=tags)
    for alias in ("local", "staging"):
        client.set_registered_model_alias(TUMOR, alias, "1")
    version = client.register_prompt(
        PROMPT,
        template=[{"role": "system", "content": "s"}, {"role": "user", "content": "{{question}}"}],
        tags={"aip.index_version": "feedfacefeedface", "aip.metric.recall_at_k": "1.0"},
    )
    client.set_prompt_alias(PROMPT, "local", int(version.version))


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("catalog-page")
    root = catalogue_copy(tmp / "repo")
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens: dev's registry is not reachable

    def environments(data: Any) -> None:
        data["environments"]["dev"]["tracking_uri"] = down
        for env in ("staging", "prod"):  # one registry, as in platform.yaml: the copy's SQLite file
            data["environments"][env]["tracking_uri"] = "sqlite:///.aip/mlflow.db"

    edit_yaml(root / "platform.yaml", environments)
    edit_yaml(root / "models" / TEXT / "model.yaml", lambda d: d.update(description=HOSTILE))
    _registry(root)
    report = root / ".aip" / "reports" / "local" / TUMOR / "report.html"
    report.parent.mkdir(parents=True)
    report.write_text("<html><body>evaluation</body></html>")

    out = tmp / "page"
    built = run_aip(root, "catalog", "build", "--html", str(out), "--timeout", "2")
    assert built.returncode == 0, built.stderr
    assert "not reachable from here: dev" in built.stderr
    index = out / "index.html"
    dom = _browser("--dump-dom", index.as_uri()).stdout
    shot = tmp / "catalog.png"
    _browser(f"--screenshot={shot}", "--window-size=1280,900", "--hide-scrollbars", index.as_uri())
    parsed = _Dom()
    parsed.feed(dom)
    return {"root": root, "dir": out, "dom": dom, "parsed": parsed, "shot": shot}


def _section(dom: str, anchor: str) -> str:
    """Text of the card with this id (tags stripped, whitespace folded)."""
    match = re.search(rf'<section class="card" id="{re.escape(anchor)}">(.*?)</section>', dom, re.S)
    assert match, f"no card {anchor}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def test_page_shows_each_environments_version_honestly(page: dict[str, Any]) -> None:
    tumor = _section(page["dom"], f"model-{TUMOR}")
    owner = Repo(page["root"]).platform.organisation.github_owner
    assert "Owner:" in tumor and f"@{owner}/" in tumor
    assert re.search(r"local v1 \w*", tumor) and "accuracy 0.974" in tumor and "roc_auc 0.997" in tumor
    assert DATA_VERSION[:12] in tumor
    assert re.search(r"dev not reachable \(GET http://127\.0\.0\.1:\d+/health", tumor)
    assert "staging v1" in tumor and re.search(r"prod not registered", tumor)
    text = _section(page["dom"], f"model-{TEXT}")
    assert "local not registered" in text and "staging not registered" in text
    prompt = _section(page["dom"], f"prompt-{PROMPT}")
    assert "local v1" in prompt and "feedfacefeed" in prompt and "recall_at_k 1.000" in prompt


def test_page_escapes_text_and_loads_nothing_from_outside(page: dict[str, Any]) -> None:
    parsed: _Dom = page["parsed"]
    assert "script" not in parsed.tags  # the hostile description stayed text
    assert HOSTILE in "".join(parsed.text)
    assert parsed.sources == []  # no script, stylesheet, font or image from anywhere


def test_every_link_resolves(page: dict[str, Any]) -> None:
    parsed: _Dom = page["parsed"]
    root: Path = page["root"]
    slug = Repo(root).platform.organisation.repository
    github = re.compile(rf"^https://github\.com/{re.escape(slug)}/(blob|tree)/main/(.+)$")
    broken = []
    for href in parsed.hrefs:
        if href.startswith("#"):
            ok = href[1:] in parsed.ids
        elif match := github.match(href):
            ok = (root / match.group(2)).exists()
        elif "://" not in href:
            ok = (page["dir"] / href).resolve().exists()
        else:
            ok = False  # nothing else may be linked
        if not ok:
            broken.append(href)
    assert broken == []
    assert any(h.endswith(f"models/{TUMOR}/README.md") for h in parsed.hrefs)  # the model card
    assert any(h.endswith(f"reports/local/{TUMOR}/report.html") for h in parsed.hrefs)
    assert any(h.endswith("docs/runbooks/drift-detected.md") for h in parsed.hrefs)
    assert any(h.endswith("dashboards/model-serving.dashboard.py") for h in parsed.hrefs)


def test_chromium_renders_a_screenshot(page: dict[str, Any]) -> None:
    data = page["shot"].read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 900)
    assert len(data) > 20_000  # a page with text and tables, not a blank canvas
