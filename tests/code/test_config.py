from pathlib import Path

import pytest

from tweetgen.config import Settings
from tweetgen.errors import ConfigError


def test_defaults_are_local() -> None:
    settings = Settings.from_mapping({})
    assert settings.backend == "local"
    assert settings.data_dir == Path("data")
    assert settings.feature_store_dir == Path("data/feature_store")
    assert settings.hopsworks_api_key is None


def test_environment_values_are_stripped_and_read() -> None:
    settings = Settings.from_mapping(
        {"TWEETGEN_BACKEND": "Hopsworks", "HOPSWORKS_API_KEY": "  key123\n", "HOPSWORKS_PROJECT": "tweets", "HOPSWORKS_TIMEOUT": "5"}
    )
    assert settings.backend == "hopsworks"
    assert settings.hopsworks_api_key == "key123"
    assert settings.hopsworks_timeout_s == 5.0
    assert "key123" not in repr(settings)


def test_unknown_backend_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="TWEETGEN_BACKEND.*local, hopsworks"):
        Settings.from_mapping({"TWEETGEN_BACKEND": "s3"})


def test_dotenv_is_read_and_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("TWEETGEN_USERNAME=from_file\nTWEETGEN_DATA_DIR=file_dir\n")
    settings = Settings.load(environ={"TWEETGEN_DATA_DIR": "env_dir"}, dotenv=dotenv)
    assert settings.username == "from_file"
    assert settings.data_dir == Path("env_dir")


def test_flags_override_environment() -> None:
    settings = Settings.from_mapping({"TWEETGEN_DATA_DIR": "env_dir"}).with_overrides(data_dir="flag_dir", backend=None)
    assert settings.data_dir == Path("flag_dir")
    assert settings.backend == "local"
    with pytest.raises(ConfigError):
        settings.with_overrides(backend="nope")


def test_display_name_belongs_to_the_default_account() -> None:
    assert Settings.from_mapping({}).display_name == "Elon Musk"
    assert Settings.from_mapping({"TWEETGEN_USERNAME": "nasa"}).display_name == "nasa"
    assert Settings.from_mapping({"TWEETGEN_USERNAME": "nasa", "TWEETGEN_DISPLAY_NAME": "NASA"}).display_name == "NASA"
