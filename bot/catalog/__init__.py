"""The matter catalog: file format, import into SQL, search, and answers."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import List, Optional

from bot import settings as settings_module
from bot.catalog.loader import Problem, read_catalog
from bot.catalog.search import MatterIndex, build_index
from bot.catalog.store import CatalogStore
from bot.db import engine_for


class CatalogNotValid(Exception):
    def __init__(self, problems: List[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the catalog")
        self.problems = problems


def import_catalog(path: Path, store: CatalogStore) -> int:
    """Checks every entry under path, then replaces the stored catalog with them.

    Nothing is stored when any entry is bad. Returns the number of matters loaded.
    """
    entries, problems = read_catalog(path)
    if problems:
        raise CatalogNotValid(problems)
    store.replace_all([e.data for e in entries], source=str(path))
    return len(entries)


class Catalog:
    """A process's read view of the stored catalog, rebuilt when a new import lands.

    The version is checked at most every `recheck_seconds`, so a government's re-import
    or an alias added in review (both bump the version) reaches every Rasa, action and
    web process without restarts.
    """

    def __init__(
        self, store: CatalogStore, reference_dir: Path, recheck_seconds: float = 30.0
    ) -> None:
        self.store = store
        self.reference_dir = reference_dir
        self.recheck_seconds = recheck_seconds
        self._index: Optional[MatterIndex] = None
        self._version = -1
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def index(self) -> MatterIndex:
        now = time.monotonic()
        if self._index is not None and now - self._checked_at < self.recheck_seconds:
            return self._index
        with self._lock:
            version = self.store.version()
            self._checked_at = time.monotonic()
            if self._index is None or version != self._version:
                self._rebuild(version)
        return self._index

    def refresh(self) -> MatterIndex:
        """Rebuilds the index now: the process that just added an alias in review finds
        it at once, without waiting for its next recheck."""
        with self._lock:
            self._checked_at = time.monotonic()
            self._rebuild(self.store.version())
        return self._index

    def _rebuild(self, version: int) -> None:
        # Version first, documents after: an import landing in between is read now and
        # noticed again at the next recheck, never missed.
        self._index = build_index(
            self.store.all_documents(), self.reference_dir, self.store.reviewed_aliases()
        )
        self._version = version


_default: Optional[Catalog] = None


def default_catalog() -> Catalog:
    """The catalog of this process's configured database, imported from the catalog
    directory on first use when the database holds none yet."""
    global _default
    if _default is None:
        cfg = settings_module.load()
        store = CatalogStore(engine_for(cfg.database_url))
        if store.version() == 0:
            import_catalog(cfg.catalog_dir, store)
        _default = Catalog(store, cfg.reference_dir)
    return _default
