"""Command line: check or import a catalog, or try a search.

    python -m bot.catalog check PATH
    python -m bot.catalog import PATH [--database-url URL]
    python -m bot.catalog search TEXT
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bot import settings as settings_module
from bot.catalog import CatalogNotValid, default_catalog, import_catalog
from bot.catalog.loader import read_catalog
from bot.catalog.store import CatalogStore
from bot.db import engine_for
from bot.logs import configure_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.catalog")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="check catalog files without loading them")
    check.add_argument("path", type=Path)
    load = sub.add_parser("import", help="check, then replace the stored catalog")
    load.add_argument("path", type=Path)
    load.add_argument("--database-url", default=None)
    find = sub.add_parser("search", help="search the stored catalog")
    find.add_argument("text")
    args = parser.parse_args(argv)

    if args.command == "check":
        entries, problems = read_catalog(args.path)
        for problem in problems:
            print(problem)
        print(f"{len(entries)} entries, {len(problems)} problem(s)")
        return 1 if problems else 0

    if args.command == "import":
        url = args.database_url or settings_module.load().database_url
        store = CatalogStore(engine_for(url))
        try:
            count = import_catalog(args.path, store)
        except CatalogNotValid as err:
            for problem in err.problems:
                print(problem, file=sys.stderr)
            print(f"nothing imported: {len(err.problems)} problem(s)", file=sys.stderr)
            return 1
        print(f"imported {count} matters (catalog version {store.version()})")
        return 0

    index = default_catalog().index()
    started = time.perf_counter()
    resolution = index.resolve(args.text)
    elapsed = (time.perf_counter() - started) * 1000
    print(f"{resolution.kind} in {elapsed:.1f} ms")
    for hit in index.search(args.text):
        print(f"  {hit.score:.3f}  {hit.matter.code}  {hit.matter.name}  ({hit.matched})")
    return 0


if __name__ == "__main__":
    configure_logging("catalog")
    sys.exit(main())
