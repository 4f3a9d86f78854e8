"""CSV imports at scale: members and campaign events in committed, resumable chunks.

See docs/import.md.

``source`` reads a CSV with the byte offset after each row; ``mapping`` maps its header to
member columns; ``csv_member_rows`` / ``event_rows`` check one row each (pure); ``member_writer`` /
``event_writer`` write a chunk set-based on SQLite and PostgreSQL; ``import_jobs`` is the
``import_jobs`` table on the lease queue (``jobs.queue``); ``runner`` drives a job chunk by
chunk; ``import_worker`` runs API jobs in serve; ``import_cli`` is ``segmentd import``.
"""
