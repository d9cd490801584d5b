import re
from pathlib import Path

import pytest

from tweetgen.config import NOTIFY_VARIABLES, Settings, notify_environment
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


def test_notification_settings_are_read_and_checked(tmp_path) -> None:
    settings = Settings.from_mapping({
        "TWEETGEN_SMTP_HOST": "smtp.example.com", "TWEETGEN_SMTP_PORT": "465", "TWEETGEN_SMTP_PASSWORD": "pw-1",
        "TWEETGEN_NOTIFY_EMAIL": " a@example.com,b@example.com ,", "TWEETGEN_NOTIFY_WEBHOOK": "https://hooks.example.com/t0k3n",
        "TWEETGEN_NOTIFY_ON": "Always",
    })
    assert (settings.smtp_port, settings.notify_email, settings.notify_on) == (465, ("a@example.com", "b@example.com"), "always")
    assert "pw-1" not in repr(settings) and "t0k3n" not in repr(settings)
    assert settings.secrets() == ["pw-1", "https://hooks.example.com/t0k3n"]
    bad = {
        "TWEETGEN_NOTIFY_ON": ({"TWEETGEN_NOTIFY_ON": "sometimes"}, "set it to one of failure, always"),
        "port": ({"TWEETGEN_SMTP_PORT": "smtp"}, "TWEETGEN_SMTP_PORT is 'smtp'"),
        "recipients": ({"TWEETGEN_SMTP_HOST": "smtp.example.com"}, "set TWEETGEN_NOTIFY_EMAIL too"),
        "host": ({"TWEETGEN_NOTIFY_EMAIL": "a@example.com"}, "set TWEETGEN_SMTP_HOST too"),
        "address": ({"TWEETGEN_SMTP_HOST": "h", "TWEETGEN_NOTIFY_EMAIL": "ops"}, "holds 'ops', not an email address"),
        "webhook": ({"TWEETGEN_NOTIFY_WEBHOOK": "hooks.slack.com/x"}, "not an http(s) URL"),
    }
    for mapping, says in bad.values():
        with pytest.raises(ConfigError, match=re.escape(says)):
            Settings.from_mapping(mapping)


def test_notify_environment_hands_on_only_the_notification_variables_that_are_set(tmp_path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("TWEETGEN_SMTP_HOST=smtp.example.com\nTWEETGEN_NOTIFY_EMAIL=a@example.com\nHOPSWORKS_API_KEY=k\n")
    environ = {"TWEETGEN_NOTIFY_EMAIL": "b@example.com", "TWEETGEN_NOTIFY_ON": "", "X_BEARER_TOKEN": "t"}
    assert notify_environment(environ, dotenv) == {"TWEETGEN_SMTP_HOST": "smtp.example.com", "TWEETGEN_NOTIFY_EMAIL": "b@example.com"}


def test_the_env_example_loads_and_every_notification_setting_is_documented() -> None:
    repo = Path(__file__).resolve().parents[2]
    settings = Settings.load(environ={}, dotenv=repo / ".env.example")
    assert settings.notify_on == "failure" and settings.smtp_host is None and settings.notify_webhook is None
    table, example = (repo / "docs" / "configuration.md").read_text(), (repo / ".env.example").read_text()
    for name in NOTIFY_VARIABLES:
        assert f"| `{name}` |" in table and f"\n{name}=" in example, name


def test_x_user_id_is_a_number_or_unset() -> None:
    assert Settings.from_mapping({"X_USER_ID": " 44196397 "}).x_user_id == 44196397
    assert Settings.from_mapping({}).x_user_id is None
    for bad in ("elonmusk", "-5", "0"):
        with pytest.raises(ConfigError, match="X_USER_ID is .*numeric X user id"):
            Settings.from_mapping({"X_USER_ID": bad})


def test_the_local_backend_on_modal_needs_a_volume_under_the_data_dir() -> None:
    on_modal = {"MODAL_IS_REMOTE": "1", "TWEETGEN_DATA_DIR": "/root/data"}
    with pytest.raises(ConfigError) as refused:
        Settings.from_mapping(on_modal)
    message = str(refused.value)
    assert message.startswith("The local backend on Modal would write to /root/data, on the container's disk")
    assert "TWEETGEN_BACKEND=hopsworks" in message and "TWEETGEN_DATA_VOLUME" in message and "\n" not in message
    with pytest.raises(ConfigError, match="local backend on Modal"):  # a volume elsewhere does not count
        Settings.from_mapping({**on_modal, "TWEETGEN_DATA_VOLUME": "/vol"})
    on_volume = Settings.from_mapping({**on_modal, "TWEETGEN_DATA_VOLUME": "/root", "TWEETGEN_DATA_DIR": "/root/data"})
    assert on_volume.on_modal and on_volume.data_volume == Path("/root")
    hopsworks = Settings.from_mapping({**on_modal, "TWEETGEN_BACKEND": "hopsworks"})
    assert hopsworks.backend == "hopsworks"
    assert not Settings.from_mapping({"TWEETGEN_DATA_DIR": "/root/data"}).on_modal  # off Modal: no volume needed


def test_every_setting_is_described_in_help_docs_and_env_example(capsys: pytest.CaptureFixture[str]) -> None:
    import re

    from tests.conftest import REPO
    from tweetgen.cli import main

    read = set(re.findall(r'get\("([A-Z_]+)"\)', (REPO / "tweetgen" / "config.py").read_text()))
    assert {"X_USER_ID", "TWEETGEN_DATA_VOLUME", "MODAL_IS_REMOTE", "SPACES_ZERO_GPU", "GRADIO_SERVER_PORT"} <= read
    documented = read
    assert main(["--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    table, example = (REPO / "docs" / "configuration.md").read_text(), (REPO / ".env.example").read_text()
    for name in sorted(documented):
        assert name in help_text, f"python -m tweetgen --help does not mention {name}"
        assert f"| `{name}` |" in table, f"docs/configuration.md has no row for {name}"
        assert name in example, f".env.example does not mention {name}"


def test_the_app_listens_where_flags_then_gradio_variables_say() -> None:
    assert Settings.from_mapping({}).app_address() == ("127.0.0.1", 7860)
    assert Settings.from_mapping({"SPACE_ID": "someone/tweetgen"}).app_address() == ("0.0.0.0", 7860)
    gradio = Settings.from_mapping({"GRADIO_SERVER_PORT": "7861", "GRADIO_SERVER_NAME": "0.0.0.0"})
    assert gradio.app_address() == ("0.0.0.0", 7861)
    assert gradio.app_address(port=8000, host="127.0.0.1") == ("127.0.0.1", 8000)
    with pytest.raises(ConfigError, match="GRADIO_SERVER_PORT is 'http'"):
        Settings.from_mapping({"GRADIO_SERVER_PORT": "http"})


def test_without_python_dotenv_a_dotenv_file_reads_as_python_dotenv_reads_it(tmp_path) -> None:
    """The fallback reader (a machine with only ``modal`` installed) agrees with python-dotenv on the
    forms `.env.example` and the docs use."""
    from dotenv import dotenv_values

    from tweetgen.config import _simple_dotenv

    text = (
        "# a comment\nTWEETGEN_BACKEND=hopsworks\nexport HOPSWORKS_PROJECT=my_project\n"
        "HOPSWORKS_API_KEY='abc.def=='\nTWEETGEN_NOTIFY_WEBHOOK=\"http://127.0.0.1:9/x\"  # where\n"
        "HOPSWORKS_JOB_TIMEOUT=300 # seconds\nEMPTY=\n\n"
    )
    (tmp_path / ".env").write_text(text)
    expected = {k: v for k, v in dotenv_values(tmp_path / ".env").items() if v is not None}
    assert _simple_dotenv(text) == expected
    assert expected["HOPSWORKS_API_KEY"] == "abc.def==" and expected["HOPSWORKS_JOB_TIMEOUT"] == "300"
