"""State the service keeps beside the index: feedback, conversations (and the files that hold them).

- ``feedback``      questions asked, votes, answers marked wrong (SQLite or PostgreSQL)
- ``conversation``  earlier turns of a conversation (SQLite or PostgreSQL)
- ``sqlitefile``    opening SQLite state files the same way everywhere
- ``statefiles``    state files 0600 and folders without group/other access
"""
