"""The hidden tests' seed of a submission: derived from a course secret, so a regrade is the same grade.

The secret is 32 random bytes made once per course: `DLGRADE_COURSE_SECRET`
(64 hex digits) where set, else the file `grader/hidden/course-secret`, made
on first use beside the hidden tests. It travels where they do (the
instructor's copy, the Gradescope bundle) and never into a student release
(`grader.doors.release` leaves `grader/hidden/` out). A submission's seed is
the first 128 bits of HMAC-SHA256(secret, its modules' bytes): unchanged code
graded again draws the same hidden inputs, and any change draws new ones.
Without a secret (the folder cannot be written) every run draws a random
seed, as `--seed` overrides both; `results.json` records the seed either way.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from grader.course import module_files

SECRET_FILE = Path(__file__).resolve().parent.parent / "hidden" / "course-secret"
ENVIRONMENT = "DLGRADE_COURSE_SECRET"


def course_secret(create: bool = True, path: Path = SECRET_FILE) -> bytes | None:
    """The course's secret, made at `path` (readable by its owner only) where there is none yet and `create`."""
    text = os.environ.get(ENVIRONMENT)
    if text:
        try:
            secret = bytes.fromhex(text.strip())
        except ValueError:
            secret = b""
        if len(secret) < 16:
            raise ValueError(f"{ENVIRONMENT} must hold at least 32 hex digits (16 random bytes)")
        return secret
    try:
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        pass
    if not create or not path.parent.is_dir():
        return None
    secret = secrets.token_bytes(32)
    # Written whole beside it, then linked into place: a grading starting at the same moment
    # never reads a file still empty, and only the first of them makes the secret.
    written = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        with os.fdopen(os.open(written, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as stream:
            stream.write(secret.hex() + "\n")
        os.link(written, path)
    except FileExistsError:
        return course_secret(create=False, path=path)  # another grading made it meanwhile
    except OSError:
        return None
    finally:
        written.unlink(missing_ok=True)
    return secret


def submission_seed(folder: Path) -> int | None:
    """The hidden tests' seed for the modules in `folder`, or None where there is no course secret."""
    secret = course_secret()
    if secret is None:
        return None
    digest = hmac.new(secret, digestmod=hashlib.sha256)
    for name, path in sorted(module_files(Path(folder)).items()):
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return int.from_bytes(digest.digest()[:16], "big")
