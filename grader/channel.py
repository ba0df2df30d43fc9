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


STATUS = bytes(8)  # the id of the worker's own messages (its PID, hello, a refusal); a request's id is random


class Channel:
    """Framed JSON messages over a pair of pipe file descriptors.

    A frame is a header (the body's length, 4 bytes, and the id of the request
    it answers, 8 bytes) and a JSON body. A reader waiting for one id skips
    the frames of any other unread: a worker that floods the pipe with junk
    costs the trusted side the time to drain it, never the memory to parse it.
    A body over `max_message_bytes` is refused before it is read.
    """

    HEADER_BYTES = 12
    DRAIN_BYTES = 1 << 20

    def __init__(self, read_fd: int, write_fd: int, max_message_bytes: int = LIMITS.message_bytes):
        self.read_fd, self.write_fd = read_fd, write_fd
        self.max_message_bytes = max_message_bytes

    def send(self, message: dict, ident: bytes = STATUS):
        body = json.dumps(message, allow_nan=False, separators=(",", ":")).encode()
        view = memoryview(len(body).to_bytes(4, "big") + ident + body)
        while view:
            written = os.write(self.write_fd, view)
            view = view[written:]

    def receive(self, deadline: float | None = None, ident: bytes | None = None) -> tuple[bytes, dict] | None:
        """(id, message) of the next frame (with id `ident`, when given); None at end of input or past `deadline`."""
        while True:
            header = self._read_exactly(self.HEADER_BYTES, deadline)
            if header is None:
                return None
            size, frame_ident = int.from_bytes(header[:4], "big"), header[4:]
            if size > self.max_message_bytes:
                raise ProtocolError("message too large")
            if ident is not None and frame_ident != ident:
                if not self._drain(size, deadline):
                    return None
                continue
            body = self._read_exactly(size, deadline)
            if body is None:
                return None
            return frame_ident, json.loads(body, parse_constant=reject_constant)

    def _drain(self, size: int, deadline: float | None) -> bool:
        """Read and drop `size` bytes, a chunk at a time."""
        while size:
            chunk = self._read_exactly(min(size, self.DRAIN_BYTES), deadline)
            if chunk is None:
                return False
            size -= len(chunk)
        return True

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
