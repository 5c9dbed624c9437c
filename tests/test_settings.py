"""Settings: defaults, then the TOML file, then OPENOMS_* variables; bad ones named."""

from __future__ import annotations

from pathlib import Path

import pytest

from openoms.settings import SettingsError, load_settings


def test_defaults_are_the_embedded_sqlite_and_the_sample_county(tmp_path: Path) -> None:
    settings = load_settings(environ={"XDG_DATA_HOME": str(tmp_path)})
    assert settings.network == "sample:county"
    assert settings.mqtt_host is None
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'openoms' / 'openoms.db'}"
    assert settings.resolved_mqtt_client_id == "openoms-demo"


def test_file_then_environment(tmp_path: Path) -> None:
    config = tmp_path / "openoms.toml"
    config.write_text(
        'utility = "jiaozuo"\nmqtt_host = "broker"\nhttp_port = 9000\n', encoding="utf-8"
    )
    settings = load_settings(
        config, environ={"OPENOMS_HTTP_PORT": "9100", "OPENOMS_DATABASE_URL": "sqlite:///x.db"}
    )
    assert settings.utility == "jiaozuo"
    assert settings.mqtt_host == "broker"
    assert settings.http_port == 9100  # the environment wins
    assert settings.resolved_database_url == "sqlite:///x.db"
    assert settings.resolved_mqtt_client_id == "openoms-jiaozuo"


def test_config_file_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text('network = "sample:ieee33"\n', encoding="utf-8")
    assert load_settings(environ={"OPENOMS_CONFIG": str(config)}).network == "sample:ieee33"


@pytest.mark.parametrize(
    ("environ", "file_text", "message"),
    [
        ({"OPENOMS_HTTP_PROT": "1"}, None, "OPENOMS_HTTP_PROT: no such setting"),
        ({"OPENOMS_HTTP_PORT": "eighty"}, None, "http_port"),
        ({}, "colour = 'red'\n", "colour"),
        ({}, "utility = \n", "elsewhere.toml"),
    ],
)
def test_bad_settings_are_named(
    tmp_path: Path, environ: dict[str, str], file_text: str | None, message: str
) -> None:
    config = None
    if file_text is not None:
        config = tmp_path / "elsewhere.toml"
        config.write_text(file_text, encoding="utf-8")
    with pytest.raises(SettingsError, match=message):
        load_settings(config, environ=environ)


def test_flisr_modes_default_and_per_feeder(tmp_path: Path) -> None:
    config = tmp_path / "openoms.toml"
    config.write_text(
        'flisr_mode = "disabled"\nflisr_modes = { "CG-F01" = "advisory" }\n', encoding="utf-8"
    )
    settings = load_settings(config, environ={})
    assert settings.flisr_mode_of("CG-F01") == "advisory"
    assert settings.flisr_mode_of("BS-F05") == "disabled"
    assert load_settings(environ={}).flisr_mode_of("BS-F05") == "advisory"  # the default
    from_env = load_settings(environ={"OPENOMS_FLISR_MODES": "CG-F01=disabled, BS-F05=advisory"})
    assert from_env.flisr_modes == {"CG-F01": "disabled", "BS-F05": "advisory"}


@pytest.mark.parametrize("mode", ["automatic", "restore_only"])
def test_flisr_modes_that_send_commands_need_the_iec104_master(tmp_path: Path, mode: str) -> None:
    config = tmp_path / "openoms.toml"
    config.write_text(f'flisr_modes = {{ "CG-F01" = "{mode}" }}\n', encoding="utf-8")
    with pytest.raises(SettingsError) as raised:
        load_settings(config, environ={})
    message = str(raised.value)
    assert f"flisr_modes.CG-F01 = {mode}" in message
    assert "iec104_enabled is false" in message
    with pytest.raises(SettingsError, match="use 'advisory'"):
        load_settings(environ={"OPENOMS_FLISR_MODE": mode})
    enabled = load_settings(config, environ={"OPENOMS_IEC104_ENABLED": "true"})
    assert enabled.flisr_mode_of("CG-F01") == mode
    assert enabled.flisr_mode_of("BS-F05") == "advisory"


def test_a_flisr_mode_not_known_and_a_malformed_table_are_named() -> None:
    with pytest.raises(SettingsError, match=r"flisr_mode: .*one of disabled, advisory"):
        load_settings(environ={"OPENOMS_FLISR_MODE": "auto"})
    with pytest.raises(SettingsError, match="FEEDER=MODE"):
        load_settings(environ={"OPENOMS_FLISR_MODES": "CG-F01"})
