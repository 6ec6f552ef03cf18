from collections.abc import Callable, Mapping
from pathlib import Path
from textwrap import dedent

import pytest
from promotions.config import ConfigError, Configuration, load_configuration

FIXTURES = Path(__file__).parent / "fixtures"

# Replacement file texts by path; None deletes the file.
Changes = Mapping[str, str | None]


def _read_folder(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()
    }


def _apply(files: dict[str, bytes], changes: Changes) -> dict[str, bytes]:
    changed = dict(files)
    for path, text in changes.items():
        if text is None:
            del changed[path]
        else:
            changed[path] = dedent(text).encode()
    return changed


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def sample_files() -> dict[str, bytes]:
    """The realistic sample: guestbook (api + ui) in dev, qa, staging and prod."""
    return _read_folder(FIXTURES / "valid")


@pytest.fixture
def load_sample(sample_files) -> Callable[..., Configuration]:
    """Load the sample with some files replaced, added (dedented text) or removed (None)."""

    def load(changes: Changes | None = None) -> Configuration:
        return load_configuration(_apply(sample_files, changes or {}))

    return load


@pytest.fixture
def load_files() -> Callable[[Changes], Configuration]:
    """Load only the given (dedented) files."""

    def load(changes: Changes) -> Configuration:
        return load_configuration(_apply({}, changes))

    return load


@pytest.fixture
def sample_problems(sample_files) -> Callable[[Changes], list[str]]:
    """The problems, as `FILE:LINE: message`, of the sample with some files changed."""

    def problems(changes: Changes) -> list[str]:
        with pytest.raises(ConfigError) as raised:
            load_configuration(_apply(sample_files, changes))
        return [str(problem) for problem in raised.value.problems]

    return problems
