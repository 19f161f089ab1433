"""Errors services raise; views turn them into messages for people."""


class ServiceError(Exception):
    """A use case refused: ``str(error)`` is a message fit to show the user."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
