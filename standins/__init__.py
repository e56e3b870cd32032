"""Stand-ins for systems the city runs and we do not: they let `make run` and the tests
work end to end on one machine; nothing in bot/ imports them."""
