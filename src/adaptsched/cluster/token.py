"""The API token: a random secret that ``adaptsched up`` keeps in the state directory, readable
by its owner only. Clients on the same machine (the CLI, the Python client) read it from there;
the workers get it in their environment; a browser logs in with it once.

The token outlives a controller's restart (a scrape config or a logged-in browser keeps
working); deleting the file makes the next ``up`` write a new one. A file that others could
read is never trusted: it is replaced.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import socket
import stat
from pathlib import Path

log = logging.getLogger(__name__)

TOKEN_FILE = "token"
#: Bytes of randomness (``secrets.token_urlsafe``: 43 characters).
TOKEN_BYTES = 32


def read_token(state_dir: Path) -> str | None:
    """The token kept in ``state_dir``, or None when there is none (or it cannot be read)."""
    try:
        token = (state_dir / TOKEN_FILE).read_text().strip()
    except OSError:
        return None
    return token or None


def load_or_create_token(state_dir: Path) -> str:
    """The state directory's token; a new one when there is none, when it is too short, or
    when its file is not private to its owner (mode 0600, owned by this user)."""
    path = state_dir / TOKEN_FILE
    try:
        info = path.stat()
    except FileNotFoundError:
        info = None
    if info is not None:
        private = stat.S_IMODE(info.st_mode) & 0o077 == 0 and info.st_uid == os.getuid()
        token = read_token(state_dir) if private else None
        if token is not None and len(token) >= TOKEN_BYTES:
            return token
        log.warning("replacing the API token in %s (not private, or malformed)", path)
    return _write_new(path)


def _write_new(path: Path) -> str:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask said
        os.write(fd, (token + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return token


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the API on this machine (every address it names is a
    loopback address)."""
    name = host.strip("[]")
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(name, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)
