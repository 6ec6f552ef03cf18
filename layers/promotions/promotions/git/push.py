"""The compare-and-swap push, and whether it landed: a push carries the tip it was built on as the ref's old
value, so the server applies it only if no other writer moved the ref first. What the server refused, and why,
is read from its report; a push whose answer never came is looked for on the remote, so that it is never
applied twice.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet

from dulwich.file import FileLocked
from dulwich.objects import ObjectID, ShaFile
from dulwich.pack import UnpackedObject, pack_objects_to_data
from dulwich.refs import Ref

from .errors import GitError, GitTransientError, PushRejected
from .fetch import Fetcher
from .transport import Transport, refused_by_server

logger = logging.getLogger("promotions.git")

# How far back a push whose outcome is unknown is looked for, if other commits landed on top of it meanwhile.
_UNKNOWN_PUSH_SEARCH_DEPTH = 64
# What of a server's messages (a hook's output) a refusal quotes, at most.
_SERVER_MESSAGE_CHARACTERS = 300
_TERMINAL_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])")


class Pusher:
    """Pushes of one remote. Thread-safe: each push has its own client."""

    def __init__(self, transport: Transport, fetcher: Fetcher) -> None:
        self._transport = transport
        # Reads the branch again when the outcome of a push is unknown or refused.
        self._fetcher = fetcher

    def push(
        self, ref: bytes, base: ObjectID | None, new_commit: ObjectID, objects: list[ShaFile]
    ) -> tuple[bool, str | None]:
        """Push `new_commit` if the remote ref still is `base` (None: still absent). Return whether it landed
        and, if the server refused the ref update, why, with what the server said: another writer moved the
        ref, or a hook or branch protection refused it (`tip_that_won` tells). A ref another writer holds
        locked (a repository given by path) did not move: that is a race lost like any other, with no refusal.
        Raises PushRejected."""
        label = ref.decode()
        key = Ref(ref)
        client, path = self._transport.client(expected_refs={} if base is None else {key: base})
        seen_at: list[ObjectID | None] = []
        # The server's messages (a hook's output): the only place it says why it refused.
        server_messages: list[bytes] = []

        def compare_and_swap(refs: Mapping[Ref, ObjectID]) -> dict[Ref, ObjectID]:
            # A local repository's refs are re-read here: returning {ref: new} unchecked would force-push. Over
            # HTTP they are `expected_refs`, sent back as the old values the server checks.
            seen_at.append(refs.get(key))
            return {key: new_commit} if refs.get(key) == base else {}

        def new_objects_only(
            have: AbstractSet[ObjectID],
            want: AbstractSet[ObjectID],
            *,
            ofs_delta: bool = False,
            progress: Callable[[bytes], None] | None = None,
        ) -> tuple[int, Iterator[UnpackedObject]]:
            return pack_objects_to_data(objects)

        try:
            with self._transport.errors("push to", label):
                result = client.send_pack(
                    path.encode(), compare_and_swap, new_objects_only, server_messages.append
                )
        except FileLocked:
            logger.info("%s %s: another writer holds the ref locked", self._transport.display_url, label)
            return False, None
        except GitError as error:
            # A request the server refused outright (not a ref it refused, not a failure midway) changed nothing.
            midway = isinstance(error, GitTransientError | PushRejected)
            if midway or not refused_by_server(error):
                raise
            if not self._transport.ask_for_ref_advertisements_before_pushing():
                raise
            logger.warning(
                "%s %s: a push without the ref advertisement was refused (%s); asking for it first",
                self._transport.display_url,
                label,
                error,
            )
            return self.push(ref, base, new_commit, objects)
        if seen_at and seen_at[-1] != base:
            return False, None
        # send_pack does not raise when the server refuses a ref: the verdict is only in ref_status.
        if result.ref_status is None or ref not in result.ref_status:
            return self._landed(ref, base, new_commit), None
        reason = result.ref_status[ref]
        if reason is None:
            return True, None
        said = _server_said(server_messages)
        return False, f"{reason} ({said})" if said and said not in reason else reason

    def tip_that_won(self, ref: bytes, base: ObjectID | None, refusal: str) -> ObjectID | None:
        """Where `ref` is now that the server refused to move it from `base` for `refusal`; PushRejected if it is
        still at `base`: then no writer won, a hook or branch protection refused the update."""
        tip = self._fetcher.tip(ref)
        if tip == base:
            raise PushRejected(
                self._transport.describe("push to", ref.decode(), f"the server refused the update: {refusal}")
            )
        logger.info(
            "%s %s: update refused (%s): another writer moved the branch",
            self._transport.display_url,
            ref.decode(),
            refusal,
        )
        return tip

    def landed_despite(
        self, error: GitTransientError, ref: bytes, base: ObjectID | None, new_commit: ObjectID
    ) -> bool:
        """Whether a push that failed with `error` landed after all, judged by re-reading the branch."""
        logger.warning("%s (outcome unknown); re-reading the branch to find out", error)
        try:
            return self._landed(ref, base, new_commit)
        except GitTransientError as check_error:
            raise GitTransientError(
                self._transport.describe(
                    "push to",
                    ref.decode(),
                    f"outcome unknown: {error}; re-reading the branch failed too: {check_error}",
                )
            ) from check_error

    def _landed(self, ref: bytes, base: ObjectID | None, new_commit: ObjectID) -> bool:
        tip = self._fetcher.tip(ref)
        if tip == new_commit:
            return True
        if tip is None or tip == base:
            return False
        # Others may have pushed on top of the commit already: look for it in the recent history of the tip.
        return new_commit.decode() in self._fetcher.history(ref, _UNKNOWN_PUSH_SEARCH_DEPTH)


def _server_said(messages: Sequence[bytes]) -> str:
    """The server's messages on one line, as a reason may quote them: terminal escapes and control characters
    out, and no longer than _SERVER_MESSAGE_CHARACTERS."""
    text = _TERMINAL_ESCAPE.sub("", b"".join(messages).decode("utf-8", errors="replace"))
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    if len(text) <= _SERVER_MESSAGE_CHARACTERS:
        return text
    return text[: _SERVER_MESSAGE_CHARACTERS - 1] + "…"
