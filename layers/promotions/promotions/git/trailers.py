"""Git trailers (`Key: value` lines closing a commit message), appended as `git interpret-trailers` does."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from dulwich.trailers import add_trailer_to_message, parse_trailers


def with_trailers(message: str, trailers: Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    """Append `trailers` in order: after a blank line, or at the end of the message's own trailer block. Given
    as pairs, a key may come several times (one trailer per approver, say).

    Follows git's defaults (trailer.where=end, trailer.ifExists=addIfDifferentNeighbor): a trailer equal to
    the last one with its key is not repeated. The result ends with a newline. A `---` patch separator is not
    treated specially.
    """
    encoded = message.encode() if message.endswith("\n") else f"{message}\n".encode()
    for key, value in trailers.items() if isinstance(trailers, Mapping) else trailers:
        if not key or any(character.isspace() or character == ":" for character in key):
            raise ValueError(f"invalid trailer key {key!r}: it must be non-empty, without whitespace or ':'")
        if "\n" in value or "\r" in value:
            raise ValueError(f"invalid value for trailer {key!r}: {value!r} spans several lines")
        encoded = add_trailer_to_message(encoded, key, value.strip())
    return encoded.decode()


def trailers_of(message: bytes) -> dict[str, str]:
    """The trailers closing a commit message, as git reads them; a key given twice keeps its last value."""
    _body, trailers = parse_trailers(message)
    return {trailer.key: trailer.value for trailer in trailers}
