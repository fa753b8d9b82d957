"""Retrieved text is data, never instructions: drop the lines of a chunk that try to steer the model.

A document in the index can carry text aimed at the model ("ignore the previous instructions and ...",
chat-template role markers, "you are now ..."). A 135M model cannot be trusted to resist it, so such
lines never reach the prompt; the answer still cites the file, and the server counts the filtering
(`aip_llm_refusals_total{reason="injection_filtered"}`). The system message also tells the model that
excerpts are not instructions (defence in depth, for the larger models production points at).
"""

from __future__ import annotations

import re

_INJECTION = re.compile(
    r"""
    \b(ignore|disregard|forget|override)\b[^.\n]{0,40}\b(previous|prior|above|earlier|all|system|your)\b
        [^.\n]{0,20}\b(instructions?|prompts?|rules|messages?|context)\b
    | \byou\s+are\s+now\b
    | \bnew\s+instructions?\s*:
    | \b(reply|respond|answer|say)\s+only\s+with\b
    | <\|?(im_start|im_end|system|assistant|user|endoftext)\|?>
    | ^\s*(system|assistant)\s*:
    | \[/?INST\]
    """,
    re.IGNORECASE | re.VERBOSE | re.MULTILINE,
)


def strip_instructions(text: str) -> tuple[str, int]:
    """(text without the lines that look like instructions to the model, how many were removed)."""
    kept, removed = [], 0
    for line in text.splitlines():
        if _INJECTION.search(line):
            removed += 1
        else:
            kept.append(line)
    return "\n".join(kept).strip(), removed
