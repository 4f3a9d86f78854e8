"""What the API families share; it imports none of them.

- ``basic_auth``: Basic auth on the ``/v1/`` APIs; ``ratelimit``: its failure limiter.
- ``envelope``: the ``/v1/`` error envelope (EngageLab's and the native API's) and its
  handlers.
- ``family_errors``: the registry of each family's error wording.
- ``params``, ``schema_parts``, ``segment_schema``: request parameters and schema parts.
- ``member_json``: a member as JSON.
- ``csv_export``: a segment's members as CSV.
- ``origins``: the page origins allowed to call a site's look-up.
- ``site_access``: the site cache the look-up and the sites endpoints share.
- ``app_state``: the app's shared parts (database, settings) as request dependencies.
"""
