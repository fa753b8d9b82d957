"""Model cards for registered versions: `aip card` (docs/model-cards.md).

    from pipelines.cards import publish_card
    publish_card(ctx, "tumor-classifier", "3")     # build, write .aip/cards/..., log with the version

A card is built from what the platform already knows (model.yaml, dataset.yaml, platform.yaml, the
version's tags and aliases, its training and evaluation runs); `card.gaps` lists the required facts
that were missing, which `aip card --check` turns into a failure.
"""

from pipelines.cards.card import Gap, ModelCard
from pipelines.cards.collect import EVALUATION_RUN_TAG, build_card
from pipelines.cards.publish import CARD_TAG, CardError, Published, card_dir, publish_card, resolve_version
from pipelines.cards.render import render_html, render_markdown

__all__ = [
    "CARD_TAG",
    "EVALUATION_RUN_TAG",
    "CardError",
    "Gap",
    "ModelCard",
    "Published",
    "build_card",
    "card_dir",
    "publish_card",
    "render_html",
    "render_markdown",
    "resolve_version",
]
