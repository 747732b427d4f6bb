"""The embedded default's in-memory channel layer: expiry still works with the sweep throttled."""

from __future__ import annotations

import asyncio

from asgiref.sync import async_to_sync

from convix.channel_layer import SweepingInMemoryChannelLayer


def run(coroutine_function):
    return async_to_sync(coroutine_function)()


def test_group_messages_arrive():
    layer = SweepingInMemoryChannelLayer(clean_interval=60)

    async def scenario():
        first, second = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("widget.conversation.1", first)
        await layer.group_add("widget.conversation.2", second)
        await layer.group_send("widget.conversation.1", {"type": "realtime.event", "n": 1})
        got = await asyncio.wait_for(layer.receive(first), 1)
        nothing = None
        try:
            nothing = await asyncio.wait_for(layer.receive(second), 0.2)
        except TimeoutError:
            pass
        return got, nothing

    got, nothing = run(scenario)
    assert got == {"type": "realtime.event", "n": 1}
    assert nothing is None


def test_expired_message_is_dropped_and_its_channel_leaves_its_groups():
    layer = SweepingInMemoryChannelLayer(expiry=0.2, clean_interval=0.1)

    async def scenario():
        stale, live = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("dashboard.store.1", stale)
        await layer.group_add("dashboard.store.1", live)
        await layer.send(stale, {"type": "realtime.event", "n": "old"})
        await asyncio.sleep(0.45)  # past the expiry and past the next sweep
        # Any group_send sweeps: the stale channel's message expires and it leaves the group.
        await layer.group_send("dashboard.store.1", {"type": "realtime.event", "n": "new"})
        fresh = await asyncio.wait_for(layer.receive(live), 1)
        stale_got = None
        try:
            stale_got = await asyncio.wait_for(layer.receive(stale), 0.3)
        except TimeoutError:
            pass
        return fresh, stale_got, set(layer.groups.get("dashboard.store.1", {}))

    fresh, stale_got, members = run(scenario)
    assert fresh == {"type": "realtime.event", "n": "new"}
    assert stale_got is None  # neither the expired message nor the later one (it left the group)
    assert len(members) == 1


def test_sweep_runs_at_most_once_per_interval():
    """Thousands of sockets: each send must not walk every channel and group."""
    sweeps = []

    class Counting(SweepingInMemoryChannelLayer):
        def _remove_from_groups(self, channel):
            sweeps.append(channel)
            super()._remove_from_groups(channel)

    layer = Counting(expiry=0.05, clean_interval=60)

    async def scenario():
        channel = await layer.new_channel()
        await layer.group_add("g", channel)
        await layer.group_send("g", {"type": "x"})  # the first send sweeps (nothing expired yet)
        await asyncio.sleep(0.1)  # the message is now expired, but the next sweep is a minute away
        for _ in range(50):
            await layer.group_send("other", {"type": "x"})
        swept_early = list(sweeps)
        layer._next_clean = 0.0  # the minute has passed
        await layer.group_send("other", {"type": "x"})
        return swept_early

    swept_early = run(scenario)
    assert swept_early == []
    assert len(sweeps) == 1
