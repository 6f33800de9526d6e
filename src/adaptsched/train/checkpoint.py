"""Crash-safe checkpoints: write to a temporary file, fsync, rename; verify a checksum on load.

A kill at any instant leaves every previously renamed checkpoint intact: the new one becomes
visible only by the atomic ``rename``, after its bytes and then the directory are fsynced.
Each file carries a SHA-256 of its payload, so a truncated or corrupted file (a disk fault, a
copy cut short) is detected and skipped, never loaded; the newest valid one wins. The last
``keep`` generations are kept so that one bad file still leaves a good one.

File layout: 8-byte magic, 32-byte SHA-256 of the payload, 8-byte payload length, payload
(``torch.save`` of a dict of tensors and plain values).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import struct
import tempfile
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)

MAGIC = b"ADSCKPT1"
_HEADER = struct.Struct(">8s32sQ")
_NAME = re.compile(r"^ckpt-(\d{10})\.pt$")


class CheckpointError(ValueError):
    """A checkpoint file is malformed, or its folder cannot be written; the message names the
    file or folder and the problem."""


def encode(state: dict[str, Any]) -> bytes:
    """Header + payload bytes of ``state``."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getvalue()
    return _HEADER.pack(MAGIC, hashlib.sha256(payload).digest(), len(payload)) + payload


def decode(data: bytes, source: str = "<bytes>") -> dict[str, Any]:
    """Verify and unpack a checkpoint; raises CheckpointError on any mismatch."""
    if len(data) < _HEADER.size:
        raise CheckpointError(f"{source}: truncated header ({len(data)} bytes)")
    magic, digest, length = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise CheckpointError(f"{source}: not an adaptsched checkpoint (bad magic)")
    payload = data[_HEADER.size :]
    if len(payload) != length:
        raise CheckpointError(f"{source}: payload is {len(payload)} bytes, header says {length}")
    if hashlib.sha256(payload).digest() != digest:
        raise CheckpointError(f"{source}: checksum mismatch (corrupt file)")
    return torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the whole new one."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class CheckpointStore:
    """Numbered checkpoints in one directory; ``save`` keeps the newest ``keep``."""

    def __init__(self, directory: str | os.PathLike[str], keep: int = 2) -> None:
        if keep < 1:
            raise ValueError(f"keep: must be >= 1, got {keep}")
        self.directory = Path(directory)
        self.keep = keep

    def check_writable(self) -> None:
        """Create the folder and write a scratch file there now, so that an unusable folder
        is found at start-up, not at the first checkpoint after an epoch of work."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.directory):
                pass
        except OSError as exc:
            raise CheckpointError(
                f"checkpoint_dir {self.directory}: cannot write there ({exc.strerror})"
            ) from None

    def _numbered(self) -> list[tuple[int, Path]]:
        if not self.directory.is_dir():
            return []
        found = []
        for path in self.directory.iterdir():
            match = _NAME.match(path.name)
            if match:
                found.append((int(match.group(1)), path))
        return sorted(found, reverse=True)

    def save(self, state: dict[str, Any]) -> Path:
        """Write the next generation atomically, then drop generations beyond ``keep``."""
        self.directory.mkdir(parents=True, exist_ok=True)
        existing = self._numbered()
        number = existing[0][0] + 1 if existing else 1
        path = self.directory / f"ckpt-{number:010d}.pt"
        write_atomic(path, encode(state))
        for _, old in existing[self.keep - 1 :]:
            old.unlink(missing_ok=True)
        return path

    def load_latest(self) -> dict[str, Any] | None:
        """The newest checkpoint that verifies; None when there is none."""
        for _, path in self._numbered():
            try:
                return decode(path.read_bytes(), str(path))
            except (CheckpointError, OSError) as exc:
                log.warning("skipping unusable checkpoint: %s", exc)
        return None
