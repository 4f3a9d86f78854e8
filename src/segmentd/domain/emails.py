"""EngageLab's email address rules, and the key members are unique by."""

from __future__ import annotations

import re

from .operators import fold

MIN_LENGTH, MAX_LENGTH, MAX_LOCAL = 6, 128, 96
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+", re.ASCII)
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?", re.ASCII)
_TLD = re.compile(r"[A-Za-z]{2,20}", re.ASCII)


def email_problem(email: str) -> str | None:
    """Why ``email`` breaks the rules, or None when it is valid."""
    if not MIN_LENGTH <= len(email) <= MAX_LENGTH:
        return f"email must be {MIN_LENGTH} to {MAX_LENGTH} characters"
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain:
        return "email must have the form local@domain"
    if len(local) > MAX_LOCAL:
        return f"the part before @ must be at most {MAX_LOCAL} characters"
    if not _LOCAL.fullmatch(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        return "the part before @ has characters an email address cannot hold"
    labels = domain.split(".")
    if len(labels) < 2:
        return "the domain must have a top-level domain"
    if not all(_LABEL.fullmatch(label) for label in labels[:-1]):
        return "domain labels are letters, digits and -, not starting or ending with -, at most 63"
    if not _TLD.fullmatch(labels[-1]):
        return "the top-level domain must be 2 to 20 letters"
    return None


def email_key(email: str) -> str:
    return fold(email)


def email_domain(email: str) -> str:
    return fold(email.rpartition("@")[2])
