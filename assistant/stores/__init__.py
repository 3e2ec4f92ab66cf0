"""The state layer: everything the service keeps beside the index, in SQLite files or in PostgreSQL.

``factory.open_stores(settings)`` is the one place that reads ``WEGWIJZER_DATABASE_URL``: it hands out each
store for the configured engine (and the index factory, rate limits, jobs and the watcher ask it too).

- ``factory``       the one switch: :class:`Stores` with feedback(), conversations(), sessions(), audit()
- ``pg``            the PostgreSQL database layer: pool, migrations, advisory locks, timeouts, Dutch errors
- ``migrations``    one versioned migration mechanism per engine (named steps, each applied once, recorded)
- ``feedback``      questions asked, votes, answers marked wrong (Protocol ``Feedback``; SQLite, PostgreSQL)
- ``conversation``  earlier turns of a conversation (Protocol ``ConversationStore``; SQLite, PostgreSQL)
- ``sessions``      /beheer session records and their signing secret (Protocol ``SessionStore``)
- ``audit``         the append-only audit trail with retention (Protocol ``AuditStore``)
- ``text``          text as every engine can store it (no NUL, no lone surrogates)
- ``sqlitefile``    opening SQLite state files the same way everywhere
- ``statefiles``    state files 0600 and folders without group/other access
"""
