"""Application status in conversation (办件进度查询) with identity verification.

A citizen names an application (or asks for "my applications"), proves identity with the
last six characters of the applicant's ID number plus a one-time SMS code, and hears the
current step, who handles it, when it is due, what is still needed and the result.

- `parse`: what a citizen's reply contains (ID last six, SMS code, a malformed number).
- `guard`: one-time codes, attempt counters and rate limits in the shared key-value store.
- `bindings`: channel accounts bound (with consent) to a verified person, in SQL.
- `render`: the texts and buttons of the answers.
- `dialogue`: the decisions of each turn, as plain async code testable without Rasa.

The audit log of every identity check and status lookup is `bot.audit`.
"""
