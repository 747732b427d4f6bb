"""The in-memory channel layer of the embedded default, with expiry swept at most every so often.

Channels' ``InMemoryChannelLayer`` walks every channel and every group on each ``group_send``
and ``receive`` to drop expired messages and memberships. With thousands of
widget sockets open (each waiting in ``receive`` and each in its own group) that walk is paid
several times per realtime event, and it dominated push-to-arrival (issue 4).

Expiry is a safety net measured in seconds (messages: ``expiry``, 60 s by default; group
memberships: ``group_expiry``, a day), so sweeping it at most every ``clean_interval`` seconds
(1 s by default) keeps the same behaviour: an expired message is still dropped, at most
``clean_interval`` later than before, and a channel whose message expired still leaves its groups.
"""

from __future__ import annotations

import time

from channels.layers import InMemoryChannelLayer


class SweepingInMemoryChannelLayer(InMemoryChannelLayer):
    """``InMemoryChannelLayer`` whose expiry sweep runs at most once per ``clean_interval`` seconds."""

    def __init__(self, clean_interval: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.clean_interval = clean_interval
        self._next_clean = 0.0

    def _clean_expired(self):
        now = time.monotonic()
        if now < self._next_clean:
            return
        self._next_clean = now + self.clean_interval
        super()._clean_expired()

    async def flush(self):
        await super().flush()
        self._next_clean = 0.0
