"""EngageLab ingestion: fields, members, tags, campaigns and their events.

Every endpoint is plain ``def`` (FastAPI runs it in its threadpool) and writes in one
transaction that also brings the segments up to date (``services.member_service``).
"""

from fastapi import APIRouter

from . import ingest_campaigns, ingest_fields, ingest_members, ingest_tags

router = APIRouter()
router.include_router(ingest_fields.router)
router.include_router(ingest_members.router)
router.include_router(ingest_tags.router)
router.include_router(ingest_campaigns.router)
