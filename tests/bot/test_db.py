"""Creating tables from several processes at once (bot/db.py `create_tables`): Rasa
instances, action servers and the web app of a cluster start together on a fresh
database; a CREATE TABLE race used to crash the loser (`make run-cluster` on a new
PostgreSQL database: one Rasa instance failed with DuplicateTable)."""
from __future__ import annotations

import threading

import sqlalchemy as sa

from bot.db import create_tables
from bot.handoff.records import metadata as handoff_metadata


def test_many_processes_creating_the_same_tables_at_once_all_succeed(database_url):
    # half of them like Rasa's own engine (SQLAlchemy 1.4 without `future`: no commit())
    engines = [sa.create_engine(database_url, future=i % 2 == 0) for i in range(6)]
    start = threading.Barrier(len(engines))
    errors: list = []

    def create(engine) -> None:
        start.wait()
        try:
            create_tables(handoff_metadata, engine)
        except Exception as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=create, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for engine in engines:
        engine.dispose()
    assert errors == []
    tables = sa.inspect(sa.create_engine(database_url, future=True)).get_table_names()
    assert set(handoff_metadata.tables) <= set(tables)
