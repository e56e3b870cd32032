"""Content fingerprints for Rasa's training cache.

Rasa caches a trained component by its config and its inputs, not by files it reads
itself. Our components read the catalog, the jieba dictionary and our own code; their
`fingerprint_addon` hashes those, so `make train` retrains exactly what they changed.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable


def files_fingerprint(paths: Iterable[Path | str]) -> str:
    digest = hashlib.sha256()
    for root in paths:
        root = Path(root)
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for file in files:
            if file.exists():
                digest.update(str(file).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()
