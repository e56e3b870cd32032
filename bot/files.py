"""Data files written while the services run: whole or not at all, one writer at a time.

Several web app processes may label at once, and training may read the files at any
moment: a writer holds an exclusive lock on the file's directory (fcntl.flock, so no lock
file sits among the data) for its read-modify-write, and the new content appears in one
rename (a reader sees the old file or the new one, never half of one).
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def directory_lock(directory: Path) -> Iterator[None]:
    """Holds an exclusive lock on `directory` (created if missing) until the block ends.

    flock locks belong to an open file description, so two threads of one process
    exclude each other as two processes do."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def write_atomically(path: Path, text: str) -> None:
    """Replaces `path` with `text` in one rename. The temporary file's name ends in
    neither .yml nor .yaml, so `rasa train --data` never reads it."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def sha256_of(path: Path) -> str:
    """A file's sha256, read in 1 MB blocks (models are hundreds of MB): how a model is
    known across the retrain report, the publish check and the score cache."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
