"""The transport between the trusted side and the worker: length-prefixed JSON messages over two pipes.

What goes inside a message is plain data in the wire format of `grader.wire`.
Standard library only: the worker opens its channel before anything else is
imported, NumPy included.
"""

from __future__ import annotations

import json
import os
import select
import time

from grader.errors import ProtocolError
from grader.limits import LIMITS


def reject_constant(name: str):
    """`parse_constant` for `json.loads`: NaN and the infinities travel as text (see `grader.wire`)."""
    raise ProtocolError(f"JSON constant {name} is not allowed")


class Channel:
    """Length-prefixed JSON messages over a pair of pipe file descriptors."""

    HEADER_BYTES = 4

    def __init__(self, read_fd: int, write_fd: int, max_message_bytes: int = LIMITS.message_bytes):
        self.read_fd, self.write_fd = read_fd, write_fd
        self.max_message_bytes = max_message_bytes

    def send(self, message: dict):
        body = json.dumps(message, allow_nan=False, separators=(",", ":")).encode()
        view = memoryview(len(body).to_bytes(self.HEADER_BYTES, "big") + body)
        while view:
            written = os.write(self.write_fd, view)
            view = view[written:]

    def receive(self, deadline: float | None = None) -> dict | None:
        """The next message; None at end of input or once `deadline` (time.monotonic) passes."""
        header = self._read_exactly(self.HEADER_BYTES, deadline)
        if header is None:
            return None
        size = int.from_bytes(header, "big")
        if size > self.max_message_bytes:
            raise ProtocolError("message too large")
        body = self._read_exactly(size, deadline)
        if body is None:
            return None
        return json.loads(body, parse_constant=reject_constant)

    def _read_exactly(self, size: int, deadline: float | None) -> bytes | None:
        chunks, remaining = [], size
        while remaining:
            if deadline is not None:
                # A half-written message must not hold the reader past its deadline.
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.read_fd], [], [], left)[0]:
                    return None
            chunk = os.read(self.read_fd, min(remaining, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def close(self):
        for fd in (self.read_fd, self.write_fd):
            try:
                os.close(fd)
            except OSError:
                pass
