"""The error every edit and version read raises: it names the file, the faulty JSONPath (if any) and why."""

from __future__ import annotations


class EditError(ValueError):
    """A file that cannot be read or edited as asked: names the file, the faulty JSONPath (if any), why."""

    def __init__(self, file: str, json_path: str | None, message: str) -> None:
        super().__init__(file, json_path, message)
        self.file = file
        self.json_path = json_path
        self.message = message

    def __str__(self) -> str:
        where = f"{self.file}: {self.json_path}" if self.json_path is not None else self.file
        return f"{where}: {self.message}"
