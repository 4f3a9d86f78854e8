"""Durable background jobs: a lease queue (``queue``) and the segment build job.

``build_queue`` enqueues and claims builds, ``build_plan`` plans one, ``build_steps`` holds the
lease check of every step and the first step, ``build_runner`` runs the chunks and publishes
through the membership (``segmentd.membership``); ``stale_generations`` says when stale
generations are deleted.
``build_worker`` and ``loop`` are the worker loops.
"""
