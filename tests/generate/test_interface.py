"""Parameters, messages and stop strings: checked before anything is generated (no model needed)."""

from __future__ import annotations

import pytest

from pipelines.generate import GenerationParams, GenerationRequestError, GeneratorUnavailable, LocalGenerator
from pipelines.generate._stops import first_stop, safe_length
from pipelines.generate.interface import check_messages
from pipelines.generate.openai_client import estimate_tokens


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": True}, "max_tokens"),
        ({"max_tokens": 8, "temperature": -0.1}, "temperature"),
        ({"max_tokens": 8, "temperature": float("nan")}, "temperature"),
        ({"max_tokens": 8, "top_p": 0.0}, "top_p"),
        ({"max_tokens": 8, "stop": ["x"]}, "stop"),
        ({"max_tokens": 8, "stop": ("",)}, "stop"),
        ({"max_tokens": 8, "stop": ("a", "b", "c", "d", "e")}, "stop"),
    ],
)
def test_bad_parameters_name_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(GenerationRequestError, match=f"^{field}: expected"):
        GenerationParams(**kwargs)


@pytest.mark.parametrize(
    ("messages", "where"),
    [
        ([], "messages"),
        ("hello", "messages"),
        ([{"role": "user", "content": "hi"}, {"role": "tool", "content": "x"}], r"messages\[1\]\.role"),
        ([{"role": "user", "content": None}], r"messages\[0\]\.content"),
        ([["user", "hi"]], r"messages\[0\]"),
    ],
)
def test_bad_messages_name_the_message(messages: object, where: str) -> None:
    with pytest.raises(GenerationRequestError, match=f"^{where}"):
        check_messages(messages)  # type: ignore[arg-type]


def test_messages_are_copied_without_extra_keys() -> None:
    assert check_messages([{"role": "user", "content": "hi", "name": "x"}]) == [
        {"role": "user", "content": "hi"}
    ]


def test_first_stop_is_the_earliest_of_all_stop_strings() -> None:
    assert first_stop("one two three", ("three", "two")) == 4
    assert first_stop("one two", ("four",)) is None


def test_safe_length_holds_back_what_could_become_a_stop_string() -> None:
    assert safe_length("answer: ab", ("abc",)) == len("answer: ")  # "ab" may grow into "abc"
    assert safe_length("answer: ax", ("abc",)) == len("answer: ax")
    assert safe_length("caf\ufffd", ()) == 3  # half a UTF-8 character waits for its other half
    assert safe_length("x\n\n#", ("\n\n##", "\n#")) == 1  # the longest candidate wins


def test_estimate_counts_content_and_chat_framing() -> None:
    assert estimate_tokens([{"role": "user", "content": "x" * 40}]) == 10 + 4 + 2


def test_unknown_local_model_lists_the_known_ones() -> None:
    with pytest.raises(GeneratorUnavailable, match="'gpt-5' is unknown; known: smollm2-135m-instruct"):
        LocalGenerator("gpt-5")


def test_the_frequency_penalty_lowers_each_logit_by_its_count_and_is_bounded() -> None:
    import torch

    from pipelines.generate.local import _penalised

    params = GenerationParams(max_tokens=4, frequency_penalty=1.5)
    logits = torch.zeros(5)
    assert _penalised(logits, [], params) is logits
    assert _penalised(logits, [2, 2, 4], params).tolist() == [0.0, 0.0, -3.0, 0.0, -1.5]
    with pytest.raises(GenerationRequestError, match="frequency_penalty"):
        GenerationParams(max_tokens=4, frequency_penalty=2.5)
