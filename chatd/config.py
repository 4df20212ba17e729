"""Configuration: read once, from the environment and ./.env, into one frozen object.

Nothing else in chatd reads os.environ. The variable names are the product spec's (DB_*,
SECRET_KEY, ALGORITHM, ACCESS_TOKEN_EXPIRE_MINUTES) plus DATABASE_URL and chatd's own
CHATD_* settings.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from dotenv import dotenv_values

SUPPORTED_ALGORITHMS = ("HS256", "HS384", "HS512")
# Connections the kernel queues until chatd accepts them (capped by net.core.somaxconn). Past
# it a SYN is dropped and the client retries a second later: with aiohttp's 128, a reconnect
# storm after a restart spends most of its time waiting on retransmits.
LISTEN_BACKLOG = 4096


class ConfigError(Exception):
    """A missing or bad setting; the message names the variable and is shown as one line."""


@dataclass(frozen=True)
class RateLimit:
    """`count` messages per `seconds`, per user and channel."""

    count: int
    seconds: float


@dataclass(frozen=True)
class LoginLimits:
    """Failed logins allowed per `window_seconds`, per username (any case) and per client
    address, counted across every chatd process."""

    per_username: int = 10
    per_address: int = 50
    window_seconds: int = 15 * 60


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class S3Settings:
    """The S3-compatible store attachments live in with CHATD_STORAGE=s3. The secret is left
    out of repr, so no log line or traceback that shows the config shows it."""

    bucket: str
    endpoint: str | None = None  # None: AWS itself, found from the region
    region: str = "us-east-1"
    # None: botocore's own chain (AWS_* variables, ~/.aws, an instance role).
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Config:
    secret_key: str | None
    algorithm: str = "HS256"
    token_expire_minutes: int = 30
    # None means "no database configured": chatd runs an embedded PostgreSQL in data_dir.
    database_url: str | None = None
    data_dir: Path = Path("chatd-data")
    host: str = "127.0.0.1"
    port: int = 8000
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 64 * 1024
    # Gateway: Origins allowed to open a WebSocket (empty: any), ping interval, per-socket
    # outgoing queue, and the per-user message rate (None: off, for load tests).
    allowed_origins: tuple[str, ...] = ()
    heartbeat_seconds: float = 30.0
    send_queue_frames: int = 1000
    rate_limit: RateLimit | None = RateLimit(5, 5.0)
    login_limits: LoginLimits = LoginLimits()
    # Invite previews (GET /invites/{code}, no token) per client address: codes are not guessable
    # and a crawler of them is slowed to this.
    invite_preview_limit: RateLimit | None = RateLimit(30, 60.0)
    # Reverse proxies whose X-Forwarded-For names the client (empty: the peer is the client).
    trusted_proxies: tuple[IPNetwork, ...] = ()
    # argon2 hashes computed at once (each takes a core for ~0.1 s), and how many more may wait
    # for one; past that a login or sign-up is refused with 503 rather than queued.
    hashes_at_once: int = field(default_factory=lambda: os.cpu_count() or 1)
    hashes_waiting: int = field(default_factory=lambda: 4 * (os.cpu_count() or 1))
    node_interval_seconds: float = 10.0  # how often this process refreshes its chatd_node row
    # How long a user whose last socket closed stays shown connected: a reconnect within it,
    # here or on another process, shows no offline/online pair.
    presence_grace: timedelta = timedelta(seconds=10)
    # How long a channel's changes are kept for resumes, and how long after sending a message
    # may be edited (None: always).
    change_retention: timedelta = timedelta(days=30)
    edit_window: timedelta | None = None
    log_format: str = "kv"  # or "json": one JSON object per line
    search_language: str = "simple"  # PostgreSQL text search configuration of message search
    # Attachments: the backend (local|s3), the local directory (None: data_dir/uploads), the
    # largest upload, how long an upload may wait to be attached, and how often that is swept.
    storage: str = "local"
    upload_dir: Path | None = None
    max_upload_bytes: int = 25 * 1024 * 1024
    upload_ttl: timedelta = timedelta(hours=1)
    upload_sweep: timedelta = timedelta(minutes=10)
    s3: S3Settings | None = None  # set with CHATD_STORAGE=s3
    # Set by systemd (Type=notify, WatchdogSec): where to send READY=1, and how often to ping.
    notify_socket: str | None = None
    watchdog_usec: int | None = None
    secret_key_generated: bool = field(default=False, compare=False)
    # Web Push: the raw P-256 VAPID private key (None: generated once, kept in the database),
    # the contact push services see, and whether plain http:// endpoints are taken (tests only).
    vapid_private_key: bytes | None = field(default=None, repr=False)
    vapid_subject: str = "mailto:admin@localhost"
    push_allow_http: bool = False

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")
    ) -> Config:
        """Environment variables win over ./.env, as with any twelve-factor service."""
        values: dict[str, str] = {}
        if dotenv is not None and dotenv.is_file():
            values.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        return cls._parse(values)

    @classmethod
    def _parse(cls, env: Mapping[str, str]) -> Config:
        algorithm = env.get("ALGORITHM", "HS256").strip().upper()
        if algorithm not in SUPPORTED_ALGORITHMS:
            raise ConfigError(
                f"ALGORITHM={env['ALGORITHM']!r} is not supported; use one of "
                + ", ".join(SUPPORTED_ALGORITHMS)
            )
        return cls(
            secret_key=env.get("SECRET_KEY") or None,
            algorithm=algorithm,
            token_expire_minutes=_positive_int(env, "ACCESS_TOKEN_EXPIRE_MINUTES", 30),
            database_url=_database_url(env),
            data_dir=Path(env.get("CHATD_DATA_DIR") or "chatd-data"),
            host=env.get("CHATD_HOST") or "127.0.0.1",
            port=_port(env, "CHATD_PORT", 8000),
            cors_origins=_csv(env.get("CHATD_CORS_ORIGINS", "")),
            allowed_origins=_csv(env.get("CHATD_ALLOWED_ORIGINS", "")),
            heartbeat_seconds=float(_positive_int(env, "CHATD_HEARTBEAT", 30)),
            send_queue_frames=_positive_int(env, "CHATD_SEND_QUEUE", 1000),
            rate_limit=_rate_limit(env.get("CHATD_RATE_LIMIT", "5/5s")),
            trusted_proxies=_networks(env, "CHATD_TRUSTED_PROXIES"),
            node_interval_seconds=float(_positive_int(env, "CHATD_NODE_INTERVAL", 10)),
            presence_grace=_duration(env, "CHATD_PRESENCE_GRACE", "10s", allow_off=False),
            change_retention=_duration(env, "CHATD_CHANGE_RETENTION", "30d", allow_off=False),
            edit_window=_duration(env, "CHATD_EDIT_WINDOW", "off", allow_off=True),
            log_format=_choice(env, "CHATD_LOG_FORMAT", ("kv", "json")),
            search_language=_search_language(env),
            storage=_choice(env, "CHATD_STORAGE", ("local", "s3")),
            upload_dir=Path(env["CHATD_UPLOAD_DIR"]) if env.get("CHATD_UPLOAD_DIR") else None,
            max_upload_bytes=_size(env, "CHATD_MAX_UPLOAD", 25 * 1024 * 1024),
            upload_ttl=_duration(env, "CHATD_UPLOAD_TTL", "1h", allow_off=False),
            upload_sweep=_duration(env, "CHATD_UPLOAD_SWEEP", "10m", allow_off=False),
            s3=_s3(env),
            notify_socket=env.get("NOTIFY_SOCKET") or None,
            watchdog_usec=_positive_int(env, "WATCHDOG_USEC", 0) or None,
            vapid_private_key=_vapid_private_key(env),
            vapid_subject=_vapid_subject(env),
            push_allow_http=_choice(env, "CHATD_PUSH_ALLOW_HTTP", ("0", "1")) == "1",
        )

    @property
    def upload_path(self) -> Path:
        """Where the local storage backend keeps uploads."""
        return self.upload_dir or self.data_dir / "uploads"

    def with_secret_key(self) -> Config:
        """Fill in SECRET_KEY for the embedded database: generated once, kept in data_dir.

        An external database means a real deployment, where a key that silently changes on
        every start would log everybody out; there a missing key is an error instead.
        """
        if self.secret_key:
            return self
        if not self.embedded:
            raise ConfigError("SECRET_KEY is required when DB_HOST or DATABASE_URL is set")
        path = self.data_dir / "secret_key"
        if path.is_file():
            return replace(self, secret_key=path.read_text().strip())
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key + "\n")
        return replace(self, secret_key=key, secret_key_generated=True)

    def describe_database(self) -> str:
        """The database for a log line: never the password."""
        if self.embedded:
            return f"embedded PostgreSQL in {self.data_dir / 'pg'}"
        parts = urlsplit(self.database_url)
        where = parts.hostname or "local socket"
        port = f":{parts.port}" if parts.port else ""
        return f"postgresql://{parts.username or ''}@{where}{port}{parts.path}"


def _database_url(env: Mapping[str, str]) -> str | None:
    if env.get("DATABASE_URL"):
        return _checked_url(env["DATABASE_URL"])
    if not env.get("DB_HOST"):
        return None
    user = quote(env.get("DB_USER", "postgres"), safe="")
    password = env.get("DB_PASSWORD", "")
    auth = f"{user}:{quote(password, safe='')}" if password else user
    port = _port(env, "DB_PORT", 5432)
    name = quote(env.get("DB_NAME", "postgres"), safe="")
    return f"postgresql://{auth}@{env['DB_HOST']}:{port}/{name}"


def _checked_url(url: str) -> str:
    """A libpq URL; anything else would surface later as a driver traceback. The message
    leaves the URL out, since it may carry a password."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ConfigError("DATABASE_URL must start with postgresql:// (or postgres://)")
    try:
        parts.port
    except ValueError:
        raise ConfigError("DATABASE_URL has a port that is not a TCP port (1-65535)") from None
    return url


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value <= 0:
        raise ConfigError(f"{name}={raw!r} must be greater than zero")
    return value


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    port = _positive_int(env, name, default)
    if port > 65535:
        raise ConfigError(f"{name}={port} is not a TCP port (1-65535)")
    return port


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_UNITS = {**_UNITS, "d": 86400.0}


def _duration(env: Mapping[str, str], name: str, default: str, allow_off: bool) -> timedelta | None:
    """`90s`, `15m`, `12h`, `30d` (and `off`, where that means "no limit")."""
    raw = (env.get(name, "").strip() or default).lower()
    if allow_off and raw == "off":
        return None
    match = re.fullmatch(r"(\d{1,6})\s*([smhd])", raw)
    if not match or int(match[1]) == 0:
        example = "'15m', '12h' or 'off'" if allow_off else "'90s', '12h' or '30d'"
        raise ConfigError(f"{name}={raw!r} is not a duration like {example}")
    return timedelta(seconds=int(match[1]) * _DURATION_UNITS[match[2]])


_SIZE_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3,
               "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def _size(env: Mapping[str, str], name: str, default: int) -> int:
    """Bytes: `1048576`, `500kB`, `25MiB`, `1GiB`."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    match = re.fullmatch(r"(\d{1,12})\s*([a-z]*)", raw.lower())
    if not match or match[2] not in _SIZE_UNITS or int(match[1]) == 0:
        raise ConfigError(f"{name}={raw!r} is not a size like '26214400', '500kB' or '25MiB'")
    return int(match[1]) * _SIZE_UNITS[match[2]]


def _rate_limit(raw: str) -> RateLimit | None:
    """`5/5s`, `30/1m`, `100/s`, or `off`."""
    raw = raw.strip().lower()
    if raw in ("off", "none", "0"):
        return None
    match = re.fullmatch(r"(\d+)\s*/\s*(\d*(?:\.\d+)?)\s*([smh])", raw)
    if not match or int(match[1]) == 0 or (match[2] and float(match[2]) == 0):
        raise ConfigError(f"CHATD_RATE_LIMIT={raw!r} is not like '5/5s', '30/1m' or 'off'")
    return RateLimit(int(match[1]), float(match[2] or 1) * _UNITS[match[3]])


def _search_language(env: Mapping[str, str]) -> str:
    """A text search configuration's name (`simple`, `english`, `pg_catalog.german`); whether
    the database has it is known at startup."""
    raw = (env.get("CHATD_SEARCH_LANGUAGE") or "simple").strip().lower()
    if not re.fullmatch(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?", raw):
        raise ConfigError(f"CHATD_SEARCH_LANGUAGE={raw!r} is not a text search configuration name")
    return raw


def _vapid_private_key(env: Mapping[str, str]) -> bytes | None:
    """base64url of the raw 32-byte P-256 private key, as VAPID tools print it."""
    raw = env.get("CHATD_VAPID_PRIVATE_KEY", "").strip()
    if not raw:
        return None
    try:
        key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        if len(key) != 32:
            raise ValueError
        ec.derive_private_key(int.from_bytes(key, "big"), ec.SECP256R1())  # 0 < key < the curve's order
    except ValueError:
        raise ConfigError("CHATD_VAPID_PRIVATE_KEY is not the base64url of a 32-byte P-256 private key") from None
    return key


def _vapid_subject(env: Mapping[str, str]) -> str:
    """A contact for push services: `mailto:` an address or an `https:` site (no path: py-vapid
    signs no other)."""
    raw = env.get("CHATD_VAPID_SUBJECT", "").strip() or "mailto:admin@localhost"
    host = r"(localhost|[\w-]+(\.[\w-]+)+)"
    if not re.fullmatch(rf"mailto:[^@\s]+@{host}|https://{host}", raw, re.IGNORECASE):
        raise ConfigError(f"CHATD_VAPID_SUBJECT={raw!r} is neither a mailto: address nor an https: URL")
    return raw


def _s3(env: Mapping[str, str]) -> S3Settings | None:
    """The CHATD_S3_* settings, read only with CHATD_STORAGE=s3, which needs a bucket."""
    if env.get("CHATD_STORAGE", "").strip().lower() != "s3":
        return None
    bucket = env.get("CHATD_S3_BUCKET", "").strip()
    if not bucket:
        raise ConfigError("CHATD_S3_BUCKET is required when CHATD_STORAGE=s3")
    endpoint = env.get("CHATD_S3_ENDPOINT", "").strip() or None
    if endpoint is not None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"CHATD_S3_ENDPOINT={endpoint!r} is not an http:// or https:// URL")
    key_id = env.get("CHATD_S3_ACCESS_KEY_ID", "").strip() or None
    secret = env.get("CHATD_S3_SECRET_ACCESS_KEY", "").strip() or None
    if (key_id is None) != (secret is None):
        raise ConfigError("CHATD_S3_ACCESS_KEY_ID and CHATD_S3_SECRET_ACCESS_KEY are set together or not at all")
    return S3Settings(bucket=bucket, endpoint=endpoint, region=env.get("CHATD_S3_REGION", "").strip() or "us-east-1",
                      access_key_id=key_id, secret_access_key=secret)


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of `choices`, the first being the default."""
    raw = env.get(name, "").strip()
    if raw and raw.lower() not in choices:
        raise ConfigError(f"{name}={raw!r} is not one of {', '.join(choices)}")
    return raw.lower() or choices[0]


def _networks(env: Mapping[str, str], name: str) -> tuple[IPNetwork, ...]:
    """Comma-separated addresses or CIDR networks: `10.0.0.5, 192.168.0.0/16, ::1`."""
    networks = []
    for item in _csv(env.get(name, "")):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"{name}: {item!r} is not an IP address or network") from None
    return tuple(networks)


def _csv(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())
