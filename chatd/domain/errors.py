"""What the domain refuses, and why: raised by the rules and operations, translated at the edges
(REST: a status and {"detail"} in chatd.web.errors; the gateway: an `error` event), so the same
rule reads the same over both."""

from __future__ import annotations


class Refused(Exception):
    """A request chatd will not carry out; `detail` is safe to show the caller."""

    def __init__(self, detail: str, retry_after: float | None = None):
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after  # seconds, when waiting is the remedy
        self.extra: dict = {}  # fields the answer carries beside `detail` (see Conflict)


class BadInput(Refused):
    """The request itself is malformed or out of bounds."""


class Unauthorized(Refused):
    """No valid identity: a missing, bad or expired token."""


class WrongCredentials(Unauthorized):
    """A username and password that do not match an account (said the same for both)."""


class Forbidden(Refused):
    """A member whose role is too low; the detail names the role needed."""


class NotFound(Refused):
    """No such thing, or one the caller may not see (never a hint that it exists)."""


class TooLarge(Refused):
    """A body over its limit (an upload past CHATD_MAX_UPLOAD)."""


class Conflict(Refused):
    """Conflicts with the current state (taken, already a member, the last ADMIN). `extra`:
    what else the answer carries beside the detail (the current state, to retry from)."""

    def __init__(self, detail: str, **extra):
        super().__init__(detail)
        self.extra = extra


class Gone(Refused):
    """No longer kept (changes past their retention): the caller reloads instead."""


class RateLimited(Refused):
    """Too much, too fast: `retry_after` says when."""


class Unavailable(Refused):
    """The database is away (restarting, failing over, out of connections): the request may not
    have been carried out, and the same request will work shortly. The edges raise it for
    failures chatd.store.pool.unavailable recognises."""

    def __init__(self, retry_after: float):
        super().__init__("database unavailable, retry shortly", retry_after)


class StorageUnavailable(Refused):
    """The attachment store (S3) failed a request: nothing was stored, and the same request may
    work once the store is back."""

    def __init__(self, retry_after: float = 5.0):
        super().__init__("file storage unavailable, retry shortly", retry_after)


class Overloaded(Refused):
    """chatd is too busy to take this on now (e.g. too many password hashes queued):
    `retry_after` says when to try again."""
