"""Human handoff: the queue, the agent desk's records and the action server's client.

The desk (web/desk.py, part of the web app process) owns the handoff queue. The
action server asks it for a person over HTTP (`client.DeskClient`); the desk talks to the
citizen through Rasa's HTTP API (`rasa_api.RasaAPI`). Queue order and agent presence live
in Redis when REDIS_URL is set (`queue.py`), durable records in SQL (`records.py`). See
docs/handoff.md.
"""
