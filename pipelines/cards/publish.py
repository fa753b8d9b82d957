"""Write a version's model card and log it with the version.

    from pipelines.cards import publish_card
    published = publish_card(ctx, "tumor-classifier", "3")   # after `register`, and after each deploy

Where it goes:
- the version's training run, artifacts `card/model-card.md` and `card/model-card.html` (re-logging
  overwrites: the card of a version is always its newest rendering);
- the version's tag `aip.card` = `runs:/<training run>/card/model-card.html`, `aip.card.generated`
  (UTC) and `aip.card.gaps` (`none`, or the missing facts);
- a local copy under `<state_dir>/cards/<model>/v<N>/` (git-ignored), the file `aip card` prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.cards.card import ModelCard
from pipelines.cards.collect import build_card
from pipelines.cards.render import render_html, render_markdown
from pipelines.errors import AipError

if TYPE_CHECKING:
    from pipelines.registry.context import Context

__all__ = [
    "CARD_FOLDER",
    "CARD_GAPS_TAG",
    "CARD_TAG",
    "CardError",
    "Published",
    "card_dir",
    "publish_card",
    "resolve_version",
    "write_card",
]

CARD_FOLDER = "card"  # artifact folder of the training run
CARD_TAG = "aip.card"
CARD_GAPS_TAG = "aip.card.gaps"
CARD_GENERATED_TAG = "aip.card.generated"
_MD, _HTML = "model-card.md", "model-card.html"


class CardError(AipError):
    """No card can be made: no such model or version, or no version holds the alias."""


@dataclass(frozen=True)
class Published:
    card: ModelCard
    markdown: Path
    html: Path
    uri: str  # the `aip.card` tag's value, "" when not logged


def card_dir(ctx: Context, model: str, version: str) -> Path:
    return ctx.repo.state_dir / "cards" / model / f"v{version}"


def resolve_version(ctx: Context, model: str, version: str | None) -> str:
    """`version` when given (checked), else the version ctx.env's alias points at."""
    from mlflow.exceptions import MlflowException

    if model not in ctx.repo.model_names():
        raise CardError(f"unknown model '{model}' (models/ has: {', '.join(ctx.repo.model_names())})")
    if version is not None:
        try:
            return str(ctx.client.get_model_version(model, version.removeprefix("v")).version)
        except MlflowException:
            raise CardError(f"{model}: no registered version {version}") from None
    current = ctx.registry.alias_version(model, ctx.env)
    if current is None:
        raise CardError(f"{model}: no version holds @{ctx.env}; name one with --version N")
    return str(current.version)


def write_card(card: ModelCard, folder: Path) -> tuple[Path, Path]:
    """model-card.md and .html in `folder`, each written whole (temporary file, then rename)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in ((_MD, render_markdown(card)), (_HTML, render_html(card))):
        path = folder / name
        partial = path.with_suffix(path.suffix + ".partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
        paths.append(path)
    return paths[0], paths[1]


def publish_card(
    ctx: Context, model: str, version: str, *, log: bool = True, slices: bool = True
) -> Published:
    """Build, write and (with `log`) log the card of `model` v`version`; see the module docstring."""
    card = build_card(ctx, model, version, slices=slices)
    markdown, page = write_card(card, card_dir(ctx, model, version))
    uri = ""
    mv = ctx.client.get_model_version(model, version)
    if log and mv.run_id and not any(g.field == "training run" for g in card.gaps):
        for path in (markdown, page):
            ctx.client.log_artifact(mv.run_id, str(path), CARD_FOLDER)
        uri = f"runs:/{mv.run_id}/{CARD_FOLDER}/{_HTML}"
        gaps = "; ".join(str(g) for g in card.gaps) or "none"
        for key, value in (
            (CARD_TAG, uri),
            (CARD_GENERATED_TAG, card.generated),
            (CARD_GAPS_TAG, gaps[:4900]),
        ):
            ctx.client.set_model_version_tag(model, version, key, value)
    return Published(card, markdown, page, uri)
