"""The dispatcher: claims queued deliveries, sends them once, records what happened.

**Once.** A delivery is claimed with a compare-and-set (status queued, due, no live claim)
that also counts the attempt; only the claimant sends, and it records the outcome with its
event in one write that checks it still owns the claim. A replica that dies after the
provider's answer but before that write leaves the claim to expire; the delivery is then sent
again **with the same id**, which every channel hands to the provider as its deduplication key
(webhook-id, the gateway's request id, the e-mail Message-ID, the push Topic), so the person
gets it once.

**Isolation.** Each delivery runs in its own task; it first waits for a slot of its target
(``dispatch_per_target`` per webhook endpoint or provider), then for a global slot
(``dispatch_concurrency``). A slow or dead endpoint fills only its own slots.

**Retries and fallback.** RETRY outcomes come back after capped exponential backoff with full
jitter (or the provider's Retry-After); after ``max_attempts``, or on FAILED/GONE, the next
channel of the recipient's chain is queued. A SENT message whose channel does not report
delivery within that channel's deadline also moves on to the next channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from binhyen.kit.aio import wait_event
from binhyen.notifications.channels.base import Message, Outcome, Result
from binhyen.notifications.service import alerts as alert_cases
from binhyen.notifications.service.batching import Batcher
from binhyen.notifications.service.common import Context
from binhyen.notifications.service.events import delivery_event
from binhyen.notifications.store.endpoints import Endpoint

log = logging.getLogger(__name__)
Document = dict[str, Any]

# How long a stopping replica lets sends in flight finish before it cancels them.
STOP_GRACE_SECONDS = 5.0
# A sweep tops the replica's backlog up to this many deliveries per global slot.
SWEEP_BACKLOG_PER_SLOT = 5
# Four UCS-2 segments (Vietnamese needs UCS-2): what one SMS may cost at most.
SMS_CHARACTERS = 4 * 67
# How long a channel has to report delivery before the next one is tried (seconds).
DELIVERY_DEADLINES = {"push": 120, "sms": 300, "zns": 300, "email": 900, "apprise": 300}


class Dispatcher:
    """Sends the deliveries of this replica (and those abandoned by others)."""

    def __init__(self, ctx: Context, *, sweep_seconds: float = 2.0) -> None:
        self.ctx = ctx
        self._sweep_seconds = sweep_seconds
        self._global = asyncio.Semaphore(ctx.settings.dispatch_concurrency)
        self._per_target: dict[str, asyncio.Semaphore] = {}
        self._inflight: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._bell = asyncio.Event()
        self._stopping = False
        self._timers: set[asyncio.TimerHandle] = set()
        self._alerts: dict[str, tuple[float, Document | None]] = {}
        self._endpoints: dict[str, tuple[float, Endpoint | None]] = {}
        # Claims and "recipient reached" notes of the deliveries in flight, written together.
        self._claims: Batcher[str, Document] = Batcher(self._claim_batch)
        self._reached: Batcher[str, bool] = Batcher(self._reached_batch)

    async def start(self) -> None:
        """Take deliveries handed over by this replica, and sweep for the rest."""
        self._stopping = False
        self.ctx.doors.dispatch = self.submit
        self._sweeper = asyncio.create_task(self._sweep_loop(), name="dispatch-sweep")

    async def stop(self) -> None:
        """Stop sweeping and taking work; give sends in flight a moment, then cancel them.

        Nothing is sent after this returns (the channels close next). A send cut short keeps
        its claim until it expires; another replica then sends it again with the same id.
        """
        self._stopping = True
        self.ctx.doors.dispatch = lambda _items: None
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=STOP_GRACE_SECONDS)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._claims.aclose()
        await self._reached.aclose()

    async def _claim_batch(self, ids: list[str]) -> dict[str, Document]:
        ctx = self.ctx
        return await ctx.stores.deliveries.claim_many(
            ids, owner=ctx.owner, now=ctx.clock.now(), seconds=ctx.settings.dispatch_claim_seconds
        )

    async def _reached_batch(self, ids: list[str]) -> dict[str, bool]:
        await self.ctx.stores.recipients.delivered_many(ids, self.ctx.clock.now())
        return {}

    def wake(self) -> None:
        """Sweep now (tests, and after a retry's delay)."""
        self._bell.set()

    def submit(self, items: list[tuple[str, str]]) -> None:
        """Send these deliveries (id, target key) as soon as their slots allow."""
        if self._stopping:
            return  # the sweep of whichever replica runs next finds them
        for delivery_id, key in items:
            if delivery_id in self._inflight:
                continue
            self._inflight.add(delivery_id)
            task = asyncio.create_task(self._run(delivery_id, key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _sweep_loop(self) -> None:
        while not self._stopping:
            try:
                await self.sweep_once()
            except Exception:  # a database hiccup: the next sweep tries again
                log.exception("dispatch sweep failed")
            self._bell.clear()
            await wait_event(self._bell, self._sweep_seconds)

    async def sweep_once(self) -> None:
        """Pick up due deliveries nobody holds, and move overdue ones to their next channel."""
        now = self.ctx.clock.now()
        # Read only what this replica can still take on. Deliveries waiting here for a slot
        # are still queued in the database: reading them again every sweep (thousands after
        # a big fan-out) cost the database more than sending them.
        room = SWEEP_BACKLOG_PER_SLOT * self.ctx.settings.dispatch_concurrency - len(self._inflight)
        if room > 0:
            self.submit(await self.ctx.stores.deliveries.due(now, min(room, 5000)))
        for delivery in await self.ctx.stores.deliveries.overdue_sent(now, 500):
            await self._fall_back(delivery, now, reason="not_delivered_in_time")

    async def _run(self, delivery_id: str, key: str) -> None:
        try:
            slot = self._per_target.setdefault(
                key, asyncio.Semaphore(self.ctx.settings.dispatch_per_target)
            )
            async with slot, self._global:
                await self._attempt(delivery_id)
        except Exception:
            log.exception("delivery attempt failed", extra={"delivery_id": delivery_id})
        finally:
            self._inflight.discard(delivery_id)

    async def _alert(self, alert_id: str) -> Document | None:
        loop = asyncio.get_running_loop()
        cached = self._alerts.get(alert_id)
        if cached is not None and loop.time() - cached[0] < 1.0:
            return cached[1]
        alert = await self.ctx.stores.alerts.get(alert_id)
        self._alerts[alert_id] = (loop.time(), alert)
        if len(self._alerts) > 1000:
            self._alerts.clear()
        return alert

    def _later(self, delay: float, items: list[tuple[str, str]]) -> None:
        """Submit these again after ``delay`` seconds (unless stopped by then)."""

        def fire() -> None:
            self._timers.discard(timer)
            self.submit(items)

        timer = asyncio.get_running_loop().call_later(delay, fire)
        self._timers.add(timer)

    async def _endpoint(self, endpoint_id: str) -> Endpoint | None:
        loop = asyncio.get_running_loop()
        cached = self._endpoints.get(endpoint_id)
        if cached is not None and loop.time() - cached[0] < 1.0:
            return cached[1]
        endpoint = await self.ctx.stores.endpoints.get(endpoint_id)
        self._endpoints[endpoint_id] = (loop.time(), endpoint)
        if len(self._endpoints) > 1000:
            self._endpoints.clear()
        return endpoint

    async def _attempt(self, delivery_id: str) -> None:
        ctx = self.ctx
        delivery = await self._claims.get(delivery_id)
        now = ctx.clock.now()
        if delivery is None:
            return  # not due, taken by another replica, or finished
        alert = await self._alert(delivery["alert_id"])
        if alert is None or (alert["status"] == "closed" and alert["msg_type"] != "Cancel"):
            await self._record(delivery, "skipped", error_code="alert_closed")
            return
        channel = ctx.channels.get(delivery["channel"])
        if channel is None:
            await self._record(delivery, "failed", error_code="channel_unavailable")
            await self._fall_back(delivery, now, reason="channel_unavailable")
            return
        message = await self._message(delivery, alert)
        if message is None:
            await self._record(delivery, "failed", error_code="target_gone")
            await self._fall_back(delivery, now, reason="target_gone")
            return
        digested = await self._digest(delivery, now) if delivery.get("digest") else []
        if digested:
            message = await self._digest_message(message, delivery, digested)
        try:
            async with asyncio.timeout(ctx.settings.send_timeout_seconds + 1):
                result = await channel.send(message)
        except TimeoutError:
            result = Result(Outcome.RETRY, error_code="timeout")
        await self._outcome(delivery, result)
        for other in digested:
            if result.outcome in (Outcome.SENT, Outcome.DELIVERED):
                status = "sent" if result.outcome == Outcome.SENT else "delivered"
                await self._record(other, status, extra={"digested_into": delivery["_id"]})
            else:  # back in the queue with the others; the next digest takes it
                await self._record(other, "queued", extra={"claimed_until": None})

    async def _digest(self, delivery: Document, now: datetime) -> list[Document]:
        """The recipient's other waiting digest deliveries over this channel, claimed."""
        ctx = self.ctx
        found = ctx.stores.deliveries.collection.find(
            {"status": "queued", "digest": True, "rkey": delivery["rkey"],
             "channel": delivery["channel"], "due_at": {"$lte": now}},
            {"_id": 1},
        ).limit(50)  # fmt: skip
        others = [d["_id"] async for d in found if d["_id"] != delivery["_id"]]
        if not others:
            return []
        claimed = await ctx.stores.deliveries.claim_many(
            others, owner=ctx.owner, now=now, seconds=ctx.settings.dispatch_claim_seconds
        )  # one write for all of them, as the sweep's claims
        return [claimed[i] for i in others if i in claimed]

    async def _digest_message(
        self, message: Message, delivery: Document, others: list[Document]
    ) -> Message:
        """One message for several low-severity alerts: each headline, one link."""
        headlines = [message.subject]
        for other in others:
            alert = await self._alert(other["alert_id"])
            if alert is not None:
                headlines.append(alert_cases.texts_for(alert, message.language)["headline"])
        vi = message.language == "vi"
        title = f"Tổng hợp {len(headlines)} tin báo" if vi else f"{len(headlines)} alerts in brief"
        listing = "; ".join(headlines)
        link = f" {message.ack_url}" if message.ack_url else ""
        text = f"{title}: {listing}"
        if delivery["channel"] == "sms" and len(text) + len(link) > SMS_CHARACTERS:
            text = text[: SMS_CHARACTERS - len(link) - 1].rstrip() + "…"
        return replace(
            message,
            subject=title,
            text=text + link,
            body=f"{title}:\n- " + "\n- ".join(headlines) + link,
        )

    async def _message(self, delivery: Document, alert: Document) -> Message | None:
        ctx = self.ctx
        target = dict(delivery["target"])
        if delivery["channel"] == "webhook":
            endpoint = await self._endpoint(target.get("endpoint_id", ""))
            if endpoint is None or not endpoint.enabled:
                return None
            target = {"url": endpoint.url, "secret": endpoint.secret}
            if endpoint.secret_previous:
                target["secret_previous"] = endpoint.secret_previous
        texts = alert_cases.texts_for(alert, delivery.get("language", "vi"))
        link = None
        token, code = delivery.get("link"), delivery.get("code")
        if token is None and delivery["kind"] != "endpoint":  # (written before links rode along)
            recipient = await ctx.stores.recipients.get(alert["_id"], delivery["rkey"])
            token = recipient.get("link") if recipient else None
            code = recipient.get("code") if recipient else None
        if token:
            link = f"{ctx.settings.base_url()}/a/{token}"
        prefix = "[DIỄN TẬP] " if alert["cap_status"] == "Exercise" else ""
        if alert["cap_status"] == "Test":
            prefix = "[THỬ NGHIỆM] "
        if delivery["wave"].startswith("m"):
            prefix += "Nhắc lại: " if delivery.get("language", "vi") == "vi" else "Reminder: "
        if alert["msg_type"] == "Cancel":
            prefix += "HỦY: " if delivery.get("language", "vi") == "vi" else "CANCELLED: "
        suffix = f" {link}" if link else ""
        if code and delivery["channel"] in ("sms", "zns"):
            suffix += f" (OK {code})"
        core = prefix + texts["text"]
        if delivery["channel"] == "sms" and len(core) + len(suffix) > SMS_CHARACTERS:
            core = core[: SMS_CHARACTERS - len(suffix) - 1].rstrip() + "…"
        text = core + suffix
        return Message(
            delivery_id=delivery["_id"],
            alert_id=alert["_id"],
            target=target,
            language=delivery.get("language", "vi"),
            subject=prefix + texts["headline"],
            text=text,
            body=prefix + texts["body"] + (f"\n\n{link}" if link else ""),
            payload=_payload(
                ctx, alert, delivery, code if delivery["channel"] in ("sms", "zns") else None
            ),
            ack_url=link,
            critical=bool(delivery.get("critical")),
            ttl_seconds=max(60, int((alert["expires_at"] - self.ctx.clock.now()).total_seconds())),
        )

    async def _outcome(self, delivery: Document, result: Result) -> None:
        ctx = self.ctx
        now = ctx.clock.now()
        if result.outcome == Outcome.DELIVERED:
            await self._record(delivery, "delivered", provider_id=result.provider_id, now=now)
            await self._reached.get(f"{delivery['alert_id']}:{delivery['rkey']}")
        elif result.outcome == Outcome.SENT:
            deadline = DELIVERY_DEADLINES.get(delivery["channel"], 300)
            await self._record(
                delivery,
                "sent",
                provider_id=result.provider_id,
                extra={"deliver_by": now + timedelta(seconds=deadline)},
                now=now,
            )
        elif result.outcome == Outcome.RETRY and delivery["attempts"] < ctx.settings.max_attempts:
            delay = result.retry_after
            if delay is None:
                cap = min(
                    ctx.settings.retry_max_seconds,
                    ctx.settings.retry_base_seconds * 2 ** (delivery["attempts"] - 1),
                )
                delay = random.uniform(0, cap)  # full jitter
            delay = min(delay, ctx.settings.retry_max_seconds)
            await self._record(
                delivery,
                "queued",
                error_code=result.error_code,
                extra={"due_at": now + timedelta(seconds=delay), "claimed_until": None},
                now=now,
            )
            self._later(delay, [(delivery["_id"], delivery["target_key"])])
        else:
            code = result.error_code or ("max_attempts" if result.outcome == Outcome.RETRY else "")
            await self._record(delivery, "failed", error_code=code or "failed", now=now)
            if result.outcome == Outcome.GONE:
                await self._gone(delivery)
            await self._fall_back(delivery, now, reason=code or "failed")

    async def _gone(self, delivery: Document) -> None:
        target = delivery["target"]
        if delivery["channel"] == "webhook":
            await self.ctx.stores.endpoints.disable(target.get("endpoint_id", ""), "gone")
        elif delivery["channel"] == "push":
            with contextlib.suppress(ValueError, KeyError):
                sub = json.loads(target["subscription"])
                await self.ctx.stores.push.drop_endpoint(str(sub["endpoint"]))

    async def _record(
        self,
        delivery: Document,
        status: str,
        *,
        error_code: str | None = None,
        provider_id: str | None = None,
        extra: Document | None = None,
        now: datetime | None = None,
    ) -> bool:
        now = now or self.ctx.clock.now()
        fields: Document = {"status": status, "error_code": error_code, **(extra or {})}
        if provider_id is not None:
            fields["provider_id"] = provider_id
        if status != "queued":
            fields["claimed_until"] = None
        changed = {**delivery, **fields, "version": delivery["version"] + 1}
        ok = await self.ctx.stores.deliveries.finish(
            delivery["_id"],
            version=delivery["version"] + 0,
            fields=fields,
            entries=[delivery_event(self.ctx, changed, now)],
            owner=self.ctx.owner,
        )
        if ok:
            self.ctx.publish_pending("deliveries", delivery["_id"])
        return ok

    async def _fall_back(self, delivery: Document, now: datetime, *, reason: str) -> None:
        """Queue the next channel of the recipient's chain, once."""
        chain = alert_cases.chain_of(delivery.get("chain", []))
        marked = await self.ctx.stores.deliveries.collection.update_one(
            {"_id": delivery["_id"], "fell_back": {"$ne": True}},
            {"$set": {"fell_back": True, "fell_back_reason": reason}},
        )
        if marked.modified_count != 1 or not chain:
            return
        alert = await self._alert(delivery["alert_id"])
        if alert is None or alert["status"] == "closed":
            return
        recipient = await self.ctx.stores.recipients.get(alert["_id"], delivery["rkey"])
        if recipient is not None and recipient.get("acked_at"):
            return
        doc = alert_cases.delivery_doc(
            self.ctx,
            alert,
            delivery["wave"],
            delivery["rkey"],
            delivery["kind"],
            delivery["recipient_id"],
            delivery.get("hamlet_id"),
            delivery.get("household_id"),
            delivery.get("language", "vi"),
            chain,
            quiet=None,
            now=now,
            link=delivery.get("link"),
            code=delivery.get("code"),
        )
        added = await self.ctx.stores.deliveries.add([doc])
        if added:
            self.ctx.publish_new("deliveries", doc["_id"], doc["_outbox"])
            self.submit([(doc["_id"], doc["target_key"])])


def _payload(ctx: Context, alert: Document, delivery: Document, code: str | None) -> Document:
    """What a webhook receives: the alert's public fields, never a resident's data."""
    return {
        "type": "vn.binhyen.notifications.alert.v1",
        "alert_id": alert["_id"],
        "identifier": f"urn:uuid:{alert['_id']}",
        "sender": ctx.settings.cap_sender,
        "status": alert["cap_status"],
        "msg_type": alert["msg_type"],
        "references": alert.get("references", []),
        "trigger": alert["trigger"],
        "incident_id": alert.get("incident_id"),
        "hamlet_ids": alert["hamlet_ids"],
        "sent": alert["sent_at"].isoformat(),
        "wave": delivery["wave"],
        "infos": [
            {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in info.items()}
            for info in alert["infos"]
        ],
        "cap_url": f"{ctx.settings.base_url()}/api/v1/alerts/{alert['_id']}/cap.xml",
        **({"ack_code": code} if code else {}),
    }


async def record_report(
    ctx: Context,
    *,
    channel: str,
    provider_id: str | None,
    delivery_id: str | None,
    status: str,
    error_code: str | None,
) -> bool:
    """Apply a provider's delivery report to its delivery; True if it changed it."""
    delivery = None
    if delivery_id:
        delivery = await ctx.stores.deliveries.get(delivery_id)
    if delivery is None and provider_id:
        delivery = await ctx.stores.deliveries.by_provider_id(channel, provider_id)
    if delivery is None or delivery["channel"] != channel or status == "pending":
        return False
    if delivery["status"] not in ("sent", "queued"):
        return False  # already delivered, failed or acknowledged: a late or repeated report
    now = ctx.clock.now()
    fields: Document = {"status": status, "error_code": error_code, "claimed_until": None}
    changed = {**delivery, **fields, "version": delivery["version"] + 1}
    if not await ctx.stores.deliveries.finish(
        delivery["_id"],
        version=delivery["version"],
        fields=fields,
        entries=[delivery_event(ctx, changed, now)],
    ):
        return False
    ctx.publish_pending("deliveries", delivery["_id"])
    if status == "delivered":
        await ctx.stores.recipients.delivered(delivery["alert_id"], delivery["rkey"], now)
    return True
