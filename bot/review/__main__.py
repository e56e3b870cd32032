"""`make review`: the largest groups of what the bot recently failed to understand.

    python -m bot.review [--days 7] [--limit 10]

Catches up with the conversations first (the same capture the web app runs in the
background, so the command also works while the web app is stopped), then prints the
groups the supervisors' review page shows (/desk/review): size, kind, title, the bot's
guess and examples. Texts are masked as stored.
"""
from __future__ import annotations

import argparse
import time
from typing import List, Optional

from bot import settings
from bot.db import engine_for
from bot.handoff import config as handoff_config
from bot.logs import configure_logging
from bot.review.capture import capture_new
from bot.review.grouping import format_groups, group_misses
from bot.review.store import ReviewStore


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.review", description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=7, help="look back this many days (7)")
    parser.add_argument("--limit", type=int, default=10, help="print this many groups (10)")
    args = parser.parse_args(argv)
    configure_logging("review")
    # The databases only: no credential is needed to read what was captured.
    store = ReviewStore.open(settings.load().database_url)
    captured = capture_new(engine_for(handoff_config.tracker_database_url()), store)
    misses = store.misses(since=time.time() - args.days * 86400, status="new")
    groups = group_misses(misses)
    print(f"{len(misses)} messages waiting for review in the last {args.days} days "
          f"({captured} newly captured), {len(groups)} groups; label them at /desk/review")
    print(format_groups(groups, limit=args.limit))


if __name__ == "__main__":
    main()
