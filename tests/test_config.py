"""Config.from_env: the product spec's variable names, .env, defaults, and errors that name
the variable."""

from __future__ import annotations

import stat
from datetime import timedelta
from ipaddress import ip_network
from pathlib import Path

import pytest

from chatd.config import Config, ConfigError


def from_env(tmp_path: Path, dotenv: str | None = None, **environ: str) -> Config:
    """Parse `environ` with, optionally, a .env file holding `dotenv`."""
    path = tmp_path / ".env"
    if dotenv is not None:
        path.write_text(dotenv)
    return Config.from_env(environ=environ, dotenv=path)


def test_defaults_are_hs256_thirty_minutes_localhost_8000_and_the_embedded_database(tmp_path):
    config = from_env(tmp_path)
    assert config.secret_key is None
    assert config.algorithm == "HS256"
    assert config.token_expire_minutes == 30
    assert (config.host, config.port) == ("127.0.0.1", 8000)
    assert config.data_dir == Path("chatd-data")
    assert config.database_url is None
    assert config.embedded is True
    assert config.cors_origins == ()


def test_db_variables_build_a_database_url_with_the_password_quoted(tmp_path):
    config = from_env(tmp_path, DB_USER="chat", DB_PASSWORD="p@ss:w/rd", DB_HOST="db.internal",
                      DB_PORT="6543", DB_NAME="chatdb", SECRET_KEY="k")
    assert config.database_url == "postgresql://chat:p%40ss%3Aw%2Frd@db.internal:6543/chatdb"
    assert config.embedded is False


def test_db_host_alone_means_user_postgres_on_port_5432(tmp_path):
    config = from_env(tmp_path, DB_HOST="localhost", SECRET_KEY="k")
    assert config.database_url == "postgresql://postgres@localhost:5432/postgres"


def test_database_url_may_use_the_postgres_scheme_and_a_socket_directory(tmp_path):
    url = "postgres://postgres:@/postgres?host=/tmp/pg"
    assert from_env(tmp_path, DATABASE_URL=url, SECRET_KEY="k").database_url == url


def test_database_url_wins_over_the_db_variables(tmp_path):
    config = from_env(tmp_path, DATABASE_URL="postgresql://u:pw@elsewhere/app", DB_HOST="localhost",
                      DB_NAME="ignored", SECRET_KEY="k")
    assert config.database_url == "postgresql://u:pw@elsewhere/app"


def test_chatd_settings_are_read(tmp_path):
    config = from_env(tmp_path, CHATD_HOST="0.0.0.0", CHATD_PORT="9001", CHATD_DATA_DIR="/srv/chatd",
                      CHATD_CORS_ORIGINS=" https://a.example , https://b.example ,",
                      ALGORITHM="hs512", ACCESS_TOKEN_EXPIRE_MINUTES="5")
    assert (config.host, config.port) == ("0.0.0.0", 9001)
    assert config.data_dir == Path("/srv/chatd")
    assert config.cors_origins == ("https://a.example", "https://b.example")
    assert config.algorithm == "HS512"
    assert config.token_expire_minutes == 5


def test_durations_are_seconds_minutes_hours_or_days(tmp_path):
    assert from_env(tmp_path).change_retention == timedelta(days=30)
    assert from_env(tmp_path).edit_window is None
    config = from_env(tmp_path, CHATD_CHANGE_RETENTION="12h", CHATD_EDIT_WINDOW="15m")
    assert (config.change_retention, config.edit_window) == (timedelta(hours=12), timedelta(minutes=15))
    assert from_env(tmp_path, CHATD_CHANGE_RETENTION="90s").change_retention == timedelta(seconds=90)
    assert from_env(tmp_path, CHATD_EDIT_WINDOW="OFF").edit_window is None
    assert from_env(tmp_path).presence_grace == timedelta(seconds=10)
    assert from_env(tmp_path, CHATD_PRESENCE_GRACE="3s").presence_grace == timedelta(seconds=3)


def test_uploads_default_to_the_data_dir_25_mib_an_hour_and_a_sweep_every_ten_minutes(tmp_path):
    config = from_env(tmp_path, CHATD_DATA_DIR="/srv/chatd")
    assert (config.storage, config.upload_path, config.max_upload_bytes, config.upload_ttl, config.upload_sweep) == (
        "local", Path("/srv/chatd/uploads"), 25 * 1024 * 1024, timedelta(hours=1), timedelta(minutes=10))
    config = from_env(tmp_path, CHATD_STORAGE="S3", CHATD_S3_BUCKET="files", CHATD_UPLOAD_DIR="/var/uploads", CHATD_MAX_UPLOAD="500kB",
                      CHATD_UPLOAD_TTL="2h", CHATD_UPLOAD_SWEEP="90s")
    assert (config.storage, config.upload_path, config.max_upload_bytes, config.upload_ttl, config.upload_sweep) == (
        "s3", Path("/var/uploads"), 500_000, timedelta(hours=2), timedelta(seconds=90))
    assert from_env(tmp_path, CHATD_MAX_UPLOAD="1048576").max_upload_bytes == 1024 * 1024
    assert from_env(tmp_path, CHATD_MAX_UPLOAD="1 GiB").max_upload_bytes == 1024**3


def test_trusted_proxies_are_addresses_and_networks_and_none_by_default(tmp_path):
    assert from_env(tmp_path).trusted_proxies == ()
    config = from_env(tmp_path, CHATD_TRUSTED_PROXIES=" 10.0.0.5, 192.168.0.0/16 ,::1,")
    assert config.trusted_proxies == (ip_network("10.0.0.5/32"), ip_network("192.168.0.0/16"), ip_network("::1/128"))


def test_the_dotenv_file_is_read(tmp_path):
    config = from_env(tmp_path, dotenv="SECRET_KEY=from-file\nDB_HOST=filehost\nCHATD_PORT=8100\n")
    assert config.secret_key == "from-file"
    assert config.database_url == "postgresql://postgres@filehost:5432/postgres"
    assert config.port == 8100


def test_the_environment_overrides_the_dotenv_file(tmp_path):
    config = from_env(tmp_path, dotenv="SECRET_KEY=from-file\nCHATD_PORT=8100\n", SECRET_KEY="from-env")
    assert config.secret_key == "from-env"
    assert config.port == 8100


def test_a_missing_dotenv_file_is_not_an_error(tmp_path):
    assert Config.from_env(environ={}, dotenv=tmp_path / "absent.env") == Config(secret_key=None)


@pytest.mark.parametrize(("environ", "message"), [
    ({"CHATD_PORT": "abc"}, "CHATD_PORT='abc' is not a whole number"),
    ({"CHATD_PORT": "70000"}, "CHATD_PORT=70000 is not a TCP port (1-65535)"),
    ({"CHATD_PORT": "0"}, "CHATD_PORT='0' must be greater than zero"),
    ({"DB_HOST": "h", "DB_PORT": "5432x"}, "DB_PORT='5432x' is not a whole number"),
    ({"DB_HOST": "h", "DB_PORT": "99999"}, "DB_PORT=99999 is not a TCP port (1-65535)"),
    ({"ALGORITHM": "XYZ"}, "ALGORITHM='XYZ' is not supported; use one of HS256, HS384, HS512"),
    ({"ALGORITHM": "none"}, "ALGORITHM='none' is not supported; use one of HS256, HS384, HS512"),
    ({"ACCESS_TOKEN_EXPIRE_MINUTES": "0"}, "ACCESS_TOKEN_EXPIRE_MINUTES='0' must be greater than zero"),
    ({"ACCESS_TOKEN_EXPIRE_MINUTES": "half an hour"},
     "ACCESS_TOKEN_EXPIRE_MINUTES='half an hour' is not a whole number"),
    ({"DATABASE_URL": "mysql://u:pw@h/db"}, "DATABASE_URL must start with postgresql:// (or postgres://)"),
    ({"DATABASE_URL": "localhost"}, "DATABASE_URL must start with postgresql:// (or postgres://)"),
    ({"DATABASE_URL": "postgresql://u:pw@h:abc/db"},
     "DATABASE_URL has a port that is not a TCP port (1-65535)"),
    ({"DATABASE_URL": "postgresql://u:pw@h:70000/db"},
     "DATABASE_URL has a port that is not a TCP port (1-65535)"),
    ({"CHATD_TRUSTED_PROXIES": "10.0.0.1, proxy.internal"},
     "CHATD_TRUSTED_PROXIES: 'proxy.internal' is not an IP address or network"),
    ({"CHATD_TRUSTED_PROXIES": "10.0.0.0/33"}, "CHATD_TRUSTED_PROXIES: '10.0.0.0/33' is not an IP address or network"),
    ({"CHATD_CHANGE_RETENTION": "off"}, "CHATD_CHANGE_RETENTION='off' is not a duration like '90s', '12h' or '30d'"),
    ({"CHATD_CHANGE_RETENTION": "0d"}, "CHATD_CHANGE_RETENTION='0d' is not a duration like '90s', '12h' or '30d'"),
    ({"CHATD_EDIT_WINDOW": "15 minutes"}, "CHATD_EDIT_WINDOW='15 minutes' is not a duration like '15m', '12h' or 'off'"),
    ({"CHATD_EDIT_WINDOW": "9999999d"}, "CHATD_EDIT_WINDOW='9999999d' is not a duration like '15m', '12h' or 'off'"),
    ({"CHATD_MAX_UPLOAD": "25 megs"}, "CHATD_MAX_UPLOAD='25 megs' is not a size like '26214400', '500kB' or '25MiB'"),
    ({"CHATD_MAX_UPLOAD": "0"}, "CHATD_MAX_UPLOAD='0' is not a size like '26214400', '500kB' or '25MiB'"),
    ({"CHATD_STORAGE": "ftp"}, "CHATD_STORAGE='ftp' is not one of local, s3"),
    ({"CHATD_UPLOAD_TTL": "off"}, "CHATD_UPLOAD_TTL='off' is not a duration like '90s', '12h' or '30d'"),
    ({"CHATD_PRESENCE_GRACE": "off"}, "CHATD_PRESENCE_GRACE='off' is not a duration like '90s', '12h' or '30d'"),
    ({"CHATD_PRESENCE_GRACE": "10"}, "CHATD_PRESENCE_GRACE='10' is not a duration like '90s', '12h' or '30d'"),
])
def test_a_bad_value_is_a_config_error_naming_the_variable(tmp_path, environ, message):
    with pytest.raises(ConfigError) as raised:
        from_env(tmp_path, **environ)
    assert str(raised.value) == message


@pytest.mark.parametrize("environ", [{"DB_HOST": "db"}, {"DATABASE_URL": "postgresql://u@db/app"}])
def test_an_external_database_without_secret_key_is_a_config_error(tmp_path, environ):
    config = from_env(tmp_path, **environ)
    with pytest.raises(ConfigError) as raised:
        config.with_secret_key()
    assert str(raised.value) == "SECRET_KEY is required when DB_HOST or DATABASE_URL is set"


def test_a_given_secret_key_is_kept_and_nothing_is_written(tmp_path):
    data_dir = tmp_path / "data"
    config = from_env(tmp_path, SECRET_KEY="given", CHATD_DATA_DIR=str(data_dir)).with_secret_key()
    assert config.secret_key == "given"
    assert config.secret_key_generated is False
    assert not data_dir.exists()


def test_the_embedded_database_gets_a_generated_key_stored_with_mode_0600(tmp_path):
    data_dir = tmp_path / "data"
    config = from_env(tmp_path, CHATD_DATA_DIR=str(data_dir)).with_secret_key()
    path = data_dir / "secret_key"
    assert config.secret_key_generated is True
    assert len(config.secret_key) >= 64
    assert path.read_text() == config.secret_key + "\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_generated_key_is_reused_on_the_next_start(tmp_path):
    data_dir = tmp_path / "data"
    first = from_env(tmp_path, CHATD_DATA_DIR=str(data_dir)).with_secret_key()
    second = from_env(tmp_path, CHATD_DATA_DIR=str(data_dir)).with_secret_key()
    assert second.secret_key == first.secret_key
    assert second.secret_key_generated is False


def test_describe_database_names_the_server_but_never_the_password(tmp_path):
    config = from_env(tmp_path, DB_USER="chat", DB_PASSWORD="hunter2-secret", DB_HOST="db.internal",
                      DB_NAME="chatdb", SECRET_KEY="k")
    assert config.describe_database() == "postgresql://chat@db.internal:5432/chatdb"
    assert "hunter2" not in config.describe_database()


def test_describe_database_hides_the_password_of_a_database_url(tmp_path):
    config = from_env(tmp_path, DATABASE_URL="postgresql://app:s3cret@10.0.0.5:5433/chat?sslmode=require",
                      SECRET_KEY="k")
    assert config.describe_database() == "postgresql://app@10.0.0.5:5433/chat"


def test_describe_database_of_the_embedded_database_names_its_directory(tmp_path):
    config = from_env(tmp_path, CHATD_DATA_DIR="here")
    assert config.describe_database() == "embedded PostgreSQL in here/pg"


def test_config_is_frozen(tmp_path):
    config = from_env(tmp_path)
    with pytest.raises(AttributeError):
        config.port = 1
