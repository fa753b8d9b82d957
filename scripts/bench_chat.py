"""End-to-end answer latency through `aip serve`: POST /v1/chat/completions, one client, N questions.

    python bench_chat.py http://127.0.0.1:8501 [N] [prompt]

Prints p50/p90/max of the whole answer (non-streamed) and of the time to the first content chunk
(streamed), and the mean completion tokens. A script, not a test (figures depend on the machine).
"""

import json
import statistics
import sys
import time
import urllib.request

QUESTIONS = [
    "How do I add a new model to the platform?",
    "Why did my canary roll back?",
    "How do I serve a model with aip serve?",
    "What does the drift alert mean?",
    "How do I run the tests?",
    "How are models promoted between environments?",
    "What is the admin API of the model server?",
    "How do I configure batching for a model?",
    "Where are request samples stored?",
    "How do I deploy a canary?",
]


def q(values: list[float], p: float) -> float:
    """The p-quantile (nearest rank) of `values`."""
    return sorted(values)[min(len(values) - 1, int(p * len(values)))]


def post(url, body):
    req = urllib.request.Request(
        url + "/v1/chat/completions",
        json.dumps(body).encode(),
        {"Content-Type": "application/json", "X-AIP-Traffic": "synthetic"},
    )
    return urllib.request.urlopen(req, timeout=300)


def main():
    url = sys.argv[1].rstrip("/")
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    prompt = sys.argv[3] if len(sys.argv) > 3 else "assistant"
    total, first, tokens, refused = [], [], [], 0
    for i in range(n):
        q = QUESTIONS[i % len(QUESTIONS)]
        body = {"model": prompt, "messages": [{"role": "user", "content": q}]}
        t = time.perf_counter()
        with post(url, body) as r:
            answer = json.loads(r.read())
        total.append(time.perf_counter() - t)
        tokens.append(answer["usage"]["completion_tokens"])
        refused += answer["aip"]["refused"] is not None
        t = time.perf_counter()
        with post(url, {**body, "stream": True}) as r:
            for line in r:
                if line.startswith(b"data: ") and b'"content":"' in line and b'"content":""' not in line:
                    first.append(time.perf_counter() - t)
                    break
            r.read()
    print(
        f"{n} questions, prompt {prompt}, {refused} refused, "
        f"mean completion tokens {statistics.mean(tokens):.0f}"
    )
    print(
        f"answer latency   p50 {statistics.median(total):.2f} s  p90 {q(total, 0.9):.2f} s  "
        f"max {max(total):.2f} s"
    )
    if first:
        print(f"first content    p50 {statistics.median(first):.2f} s  p90 {q(first, 0.9):.2f} s  (streamed)")


if __name__ == "__main__":
    main()
