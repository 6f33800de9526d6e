"""The API token file: created private, kept across starts, replaced when others could read
it; which binds need it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from adaptsched.cluster.token import TOKEN_FILE, is_loopback, load_or_create_token, read_token


def test_token_is_private_and_kept(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        token = load_or_create_token(tmp_path)
    finally:
        os.umask(old)
    path = tmp_path / TOKEN_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(token) >= 40 and read_token(tmp_path) == token
    assert load_or_create_token(tmp_path) == token  # the next start keeps it


def test_a_readable_token_is_replaced(tmp_path: Path) -> None:
    token = load_or_create_token(tmp_path)
    os.chmod(tmp_path / TOKEN_FILE, 0o644)
    fresh = load_or_create_token(tmp_path)
    assert fresh != token
    assert stat.S_IMODE((tmp_path / TOKEN_FILE).stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("192.0.2.7", False),
    ],
)
def test_which_binds_need_the_token(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
