"""moto's S3 server mode on loopback, for the tests of the S3 storage backend.

moto needs a current boto3/botocore, which aiobotocore's pin of botocore excludes, so it lives in
a virtual environment of its own under the repository (`.test-env/moto`, not committed), made on
first use: a clean clone needs nothing but the README's test command.
"""

from __future__ import annotations

import fcntl
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.background import prepared

# The version these tests were run against; a new one is installed when this line changes.
MOTO = "moto[server]==5.2.5"
ENV = Path(__file__).resolve().parent.parent / ".test-env" / "moto"


def moto_server_command() -> Path:
    """moto_server, installed on first use. A file lock makes two test runs of one checkout
    take turns instead of installing over each other."""
    ENV.parent.mkdir(exist_ok=True)
    marker = ENV / "installed"
    with open(ENV.parent / "moto.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.is_file() or marker.read_text().strip() != MOTO:
            shutil.rmtree(ENV, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", ENV], check=True)
            pip = subprocess.run([ENV / "bin" / "pip", "install", "-q", "--disable-pip-version-check", MOTO],
                                 capture_output=True, text=True)
            if pip.returncode != 0:
                raise RuntimeError(f"pip install {MOTO} failed:\n{pip.stdout[-2000:]}{pip.stderr[-4000:]}")
            marker.write_text(MOTO + "\n")
    return ENV / "bin" / "moto_server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def moto_server(log_path: Path) -> Iterator[str]:
    """A moto server on a free loopback port: its URL once it answers; stopped on exit. Its
    request log goes to `log_path` (a pipe nobody reads would fill and stall it)."""
    command = prepared(moto_server_command)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([command, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except urllib.error.HTTPError:
                break  # an error page is an answer too
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start:\n{log_path.read_text()[-4000:]}") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
