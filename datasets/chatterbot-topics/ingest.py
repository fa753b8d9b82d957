"""Ingest chatterbot-corpus: every English utterance, labelled with the topic file it comes from.

This is the dataset's own code, run by the DVC `ingest` stage (`aip data ingest chatterbot-topics`).
It reads the installed `chatterbot-corpus` package the way a fork's stage reads its own source: files
on disk (`data/<language>/*.yml`), the topic being the file name (`tech_support.yml` -> `tech_support`).
Both sides of every conversation are utterances of that topic.

Cleaning, in order, and why:
1. normalise whitespace (tabs, newlines, double spaces) so the same sentence is one string;
2. drop duplicates within a topic (`tech_support.yml` repeats 20 prompts 2,100 times);
3. drop texts found under two topics ("Hello" is both greetings and conversations): no model can
   get them right, and they would leak between splits;
4. drop topics with fewer than `min_examples_per_class` unique utterances: too few to split three ways.
Rows are sorted (label, text) so the CSV, hence its md5, is the same on every run.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from ruamel.yaml import YAML


def ingest(language: str = "english", min_examples_per_class: int = 20) -> pd.DataFrame:
    """Return columns `text`, `label` (one row per unique, unambiguous utterance)."""
    rows = [(text, topic) for topic, texts in _read_corpus(language).items() for text in texts]
    frame = pd.DataFrame(rows, columns=["text", "label"]).drop_duplicates()
    topics_per_text = frame.groupby("text")["label"].transform("nunique")
    frame = frame[topics_per_text == 1]
    counts = frame["label"].value_counts()
    frame = frame[frame["label"].map(counts) >= min_examples_per_class]
    return frame.sort_values(["label", "text"], kind="mergesort").reset_index(drop=True)


def _read_corpus(language: str) -> dict[str, list[str]]:
    """{topic: [normalised utterance, ...]} from `chatterbot_corpus/data/<language>/*.yml`."""
    import chatterbot_corpus

    folder = Path(chatterbot_corpus.__file__).parent / "data" / language
    files = sorted(folder.glob("*.yml"))
    if not files:
        raise FileNotFoundError(
            f"no *.yml under {folder}: is chatterbot-corpus installed with language '{language}'?"
        )
    yaml = YAML(typ="safe")
    corpus: dict[str, list[str]] = {}
    for path in files:
        document = yaml.load(path.read_text(encoding="utf-8")) or {}
        texts = []
        for conversation in document.get("conversations") or []:
            # trivia.yml has one conversation written as a bare string: one utterance, not its characters
            statements = [conversation] if isinstance(conversation, str) else conversation
            for statement in statements:
                text = " ".join(str(statement).split())
                if text:
                    texts.append(text)
        corpus[path.stem] = texts
    return corpus
