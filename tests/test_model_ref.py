"""Every form of a model reference in Yandex's notes reads into one ModelRef; anything else is one error."""

from __future__ import annotations

from pathlib import Path

import pytest

from yachat.core.errors import explain
from yachat.model_ref import ModelRef, ModelRefError, model_ref_problem, parse_model_ref
from yachat.settings import ConfigError, load_settings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yandexgpt-lite", ModelRef("yandexgpt-lite")),
        ("  yandexgpt  ", ModelRef("yandexgpt")),
        ("yandexgpt/latest", ModelRef("yandexgpt", "latest")),
        ("yandexgpt/rc", ModelRef("yandexgpt", "rc")),
        ("qwen3.5-35b-a3b-fp8", ModelRef("qwen3.5-35b-a3b-fp8")),
        ("yandexgpt-5.1", ModelRef("yandexgpt-5.1")),
        ("yandexgpt-lite/latest@tamr1b2c3", ModelRef("yandexgpt-lite", "latest@tamr1b2c3")),
        ("gpt://b1gfolder/yandexgpt", ModelRef("yandexgpt", None, "b1gfolder")),
        ("gpt://b1gfolder/yandexgpt/rc", ModelRef("yandexgpt", "rc", "b1gfolder")),
        (
            "gpt://b1gfolder/yandexgpt-lite/latest@suffix",
            ModelRef("yandexgpt-lite", "latest@suffix", "b1gfolder"),
        ),
        # The chat API names the model that answered without the folder.
        ("gpt://qwen3-235b-a22b-fp8/latest", ModelRef("qwen3-235b-a22b-fp8", "latest")),
        ("gpt://yandexgpt-lite/latest@suffix", ModelRef("yandexgpt-lite", "latest@suffix")),
        ("emb://b1gfolder/text-search-doc/latest", ModelRef("text-search-doc", "latest", "b1gfolder", "emb")),
    ],
)
def test_every_form_reads(text: str, expected: ModelRef) -> None:
    assert parse_model_ref(text) == expected
    assert model_ref_problem(text) is None


def test_what_a_reference_writes() -> None:
    short = parse_model_ref("yandexgpt/rc")
    assert (short.short, short.label, short.version_or_latest) == ("yandexgpt/rc", "yandexgpt/rc", "rc")
    assert short.uri("b1g") == "gpt://b1g/yandexgpt/rc"
    assert short.uri() == "gpt://yandexgpt/rc"
    bare = parse_model_ref("yandexgpt-lite")
    assert (bare.short, bare.label, bare.uri("b1g")) == (
        "yandexgpt-lite",
        "yandexgpt-lite/latest",
        "gpt://b1g/yandexgpt-lite/latest",
    )
    full = parse_model_ref("gpt://b1gfolder/yandexgpt-lite/latest@ft1")
    assert (full.short, full.tuning, full.uri()) == (
        "yandexgpt-lite/latest@ft1",
        "ft1",
        "gpt://b1gfolder/yandexgpt-lite/latest@ft1",
    )
    # A URI's own folder gives way to the one asked for, and the round trip is exact.
    assert full.uri("other") == "gpt://other/yandexgpt-lite/latest@ft1"
    assert parse_model_ref(full.uri()) == full
    assert parse_model_ref("yandexgpt").tuning is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "no model given"),
        ("   ", "no model given"),
        ("yandex gpt", "has no spaces"),
        ("yandexgpt/rc/extra", "at most one '/'"),
        ("yandexgpt/", "is not a version"),
        ("/rc", "is not a model name"),
        ("http://b1g/yandexgpt", "unknown scheme 'http://'"),
        ("gpt://", "a URI is gpt://<folder>/<name>/<version>"),
        ("gpt://yandexgpt", "a URI is gpt://"),
        ("gpt://b1g//latest", "a URI is gpt://"),
        ("gpt://b1g/yandexgpt/latest/more", "a URI is gpt://"),
        ("yandexgpt/latest@", "is not a version"),
        ("yandexgpt/latest@a@b", "is not a version"),
        ("yandex$gpt", "is not a model name"),
    ],
)
def test_bad_input_is_one_clear_error(text: str, why: str) -> None:
    with pytest.raises(ModelRefError) as caught:
        parse_model_ref(text)
    message = str(caught.value)
    assert why in message
    assert "\n" not in message and "yandexgpt/rc" in message  # one line, with the forms that work
    assert model_ref_problem(text) == message


def test_a_bad_model_in_flags_environment_or_config_is_one_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as flag:
        load_settings({"model": "yandex gpt"}, env={}, config_path=tmp_path / "none.toml")
    assert str(flag.value).startswith("model from command line: 'yandex gpt' is not a model")
    with pytest.raises(ConfigError, match="model from environment \\$YACHAT_MODEL: 'gpt://x' is not a model"):
        load_settings(env={"YACHAT_MODEL": "gpt://x"}, config_path=tmp_path / "none.toml")
    config = tmp_path / "config.toml"
    config.write_text('model = "gpt://b1g/yandexgpt/rc"\n', encoding="utf-8")
    assert load_settings(env={}, config_path=config).model == "gpt://b1g/yandexgpt/rc"


def test_a_stored_assistant_with_a_bad_model_fails_its_run_in_one_sentence() -> None:
    with pytest.raises(ModelRefError) as caught:
        parse_model_ref("yandexgpt/rc/x")
    assert explain(caught.value).startswith(
        "The assistant's model cannot be used: 'yandexgpt/rc/x' is not a model"
    )
