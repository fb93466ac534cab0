"""Putting a prepared reply on the wire: late, in pieces or cut short; noticing clients leave.

Every reply races a watcher of the client's connection, so a client that gives up (a timeout, a
consumer that stops reading a stream) ends a hang or a stream at once, and is recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import anyio
from starlette.types import Receive, Scope, Send


class Delivery:
    """An ASGI response that sends prepared chunks and reports a client that left early."""

    def __init__(
        self,
        status: int,
        headers: Mapping[str, str],
        chunks: Sequence[bytes],
        *,
        on_disconnect: Callable[[], None],
        delay_seconds: float = 0.0,
        interval_seconds: float = 0.0,
        cut: bool = False,
    ) -> None:
        """Send `chunks` after `delay_seconds`, `interval_seconds` apart.

        With `cut`, the response is left unfinished, so the server closes the connection
        mid-body, as a crashing upstream or a proxy timing out does.
        """
        self._status = status
        self._headers = [(name.encode(), value.encode()) for name, value in headers.items()]
        self._chunks = chunks
        self._on_disconnect = on_disconnect
        self._delay_seconds = delay_seconds
        self._interval_seconds = interval_seconds
        self._cut = cut
        self._finished = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(self._watch, receive, group.cancel_scope)
            await self._send(send)
            group.cancel_scope.cancel()

    async def _send(self, send: Send) -> None:
        await anyio.sleep(self._delay_seconds)
        await send(
            {"type": "http.response.start", "status": self._status, "headers": self._headers}
        )
        for index, chunk in enumerate(self._chunks):
            if index and self._interval_seconds:
                await anyio.sleep(self._interval_seconds)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        if self._cut:
            return
        self._finished = True
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _watch(self, receive: Receive, scope: anyio.CancelScope) -> None:
        while (await receive())["type"] != "http.disconnect":
            continue
        if not self._finished:
            self._on_disconnect()
        scope.cancel()
