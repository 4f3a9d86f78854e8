"""The one error the domain raises: a rule was broken by user input."""


class DomainValidationError(ValueError):
    """Input broke a rule. ``path`` names the offending input, e.g. ``condition.items[0].op``."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"[{path}]:{message}" if path else message)
        self.path = path
        self.message = message
