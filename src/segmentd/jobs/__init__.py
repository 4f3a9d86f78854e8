"""Durable background jobs: a lease queue (``queue``) and the segment build job.

``build_queue`` enqueues and claims builds, ``build_plan`` plans one, ``build_steps`` holds the
lease check of every step and the first step, ``build_runner`` runs the chunks and publishes;
``build_fill`` and ``stale_generations`` are what a build does to the membership tables.
``build_worker`` and ``loop`` are the worker loops.
"""
