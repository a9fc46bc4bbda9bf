"""The one error the evaluation and annotation tools raise for bad input: a message and a hint."""

from __future__ import annotations


class BenchError(RuntimeError):
    """A user-facing problem (missing weights, unreadable take); ``hint`` says what to do."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message
