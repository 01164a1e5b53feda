"""Flags > environment > config file > defaults; a bad config file is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from yachat.settings import ConfigError, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_precedence(tmp_path: Path) -> None:
    config = write(tmp_path, 'model = "from-file"\nfolder_id = "file-folder"\ntemperature = 0.1\n')
    env = {"YACHAT_MODEL": "from-env", "YC_FOLDER_ID": "env-folder"}
    settings = load_settings({"model": "from-flag"}, env=env, config_path=config)
    assert settings.model == "from-flag"
    assert settings.folder_id == "env-folder"
    assert settings.temperature == 0.1
    assert settings.sources["temperature"].startswith("config file")


def test_yandex_variables_are_read_and_never_shown(tmp_path: Path) -> None:
    env = {"YC_API_KEY": "AQVN-secret-key", "YC_FOLDER_ID": "b1gfolder"}
    settings = load_settings(env=env, config_path=tmp_path / "none.toml")
    assert settings.api_key == "AQVN-secret-key"
    assert settings.has_cloud_credentials
    assert "AQVN-secret-key" not in repr(settings)


def test_corrupt_config_names_file_and_line(tmp_path: Path) -> None:
    config = write(tmp_path, 'model = "ok"\ntemperature = = 3\n')
    with pytest.raises(ConfigError) as err:
        load_settings(env={}, config_path=config)
    assert str(config) in str(err.value) and "line 2" in str(err.value)


def test_unknown_key_names_file_and_line(tmp_path: Path) -> None:
    config = write(tmp_path, 'model = "ok"\n\ntemprature = 0.5\n')
    with pytest.raises(ConfigError) as err:
        load_settings(env={}, config_path=config)
    message = str(err.value)
    assert str(config) in message and "line 3" in message and "temprature" in message


def test_credentials_are_not_accepted_from_the_config_file(tmp_path: Path) -> None:
    config = write(tmp_path, 'api_key = "AQVN-in-a-file"\n')
    with pytest.raises(ConfigError):
        load_settings(env={}, config_path=config)


def test_bad_backend_and_bad_number(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="backend"):
        load_settings({"backend": "moon"}, env={}, config_path=tmp_path / "x.toml")
    config = write(tmp_path, 'temperature = "hot"\n')
    with pytest.raises(ConfigError, match="temperature"):
        load_settings(env={}, config_path=config)
