"""The errors the domain and the use cases raise; each API family words them in its envelope."""


class DomainValidationError(ValueError):
    """Input broke a rule. ``path`` names the offending input, e.g. ``condition.items[0].op``."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"[{path}]:{message}" if path else message)
        self.path = path
        self.message = message


class UnknownList(DomainValidationError):
    """The list named by the input is not one of the tenant's (EngageLab: 404, code 30035)."""

    def __init__(self, list_id: int) -> None:
        super().__init__("list_id", f"list {list_id} does not exist")
        self.list_id = list_id


class Taken(DomainValidationError):
    """A number that must be unique is held already (the native API: 409, code 30035)."""


class NotFound(LookupError):
    """The tenant has no such segment or site (another tenant's reads as absent)."""


class InUse(DomainValidationError):
    """What is to be deleted is referred to by others, named in the message (EngageLab: 400,
    code 30035, as a field or tag in use)."""
