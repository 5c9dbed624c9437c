"""The notice workflow: publish a notice to everyone it concerns, then deliver it, once.

:func:`publish_notice` takes one revision of a :class:`NoticeSubject` (a planned outage,
temporary maintenance, a fault outage) and, in the caller's transaction:

1. stores it as the latest revision of its ref and records the notice;
2. finds every customer supplied from one of its transformer areas / HV customers (and
   those of its previous revision, who may need a correction or a cancellation), with
   the channels they keep after their subscriptions;
3. per customer, merges the subject with the other active subjects on the same area whose
   windows overlap (:func:`openoms.outages.notices.merge_clusters`): one message says it
   all. It reads as ``new`` when the customer was told nothing of them yet, as a
   correction when it was, as a cancellation (or restoration) when the subject no longer
   cuts the customer; and nothing is sent when the customer was already told exactly this;
4. renders each message (the customer's language, the utility's zone) and records one
   delivery per (customer, channel), plus one per group robot and media text, each with a
   unique dedupe key. A newer message supersedes a still-pending older one to the same
   recipient about the same subjects.

:func:`deliver_due` is the worker's step: it claims due deliveries per channel within the
channel's rate limit, holds customer SMS during the quiet hours (except to sensitive
customers), hands each to its channel adapter and records the result; the
:class:`NoticeWorker` thread runs it in the service.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from openoms.contacts.customers import (
    Customer,
    CustomerChannel,
    check_elements,
    parse_customers,
)
from openoms.grid.model import Network
from openoms.notify.channels import (
    ChannelAdapter,
    ChannelOutcomeUnknownError,
    ChannelRejectedError,
    ChannelUnavailableError,
    MediaFeedChannel,
    OutgoingMessage,
)
from openoms.notify.email import EmailChannel, SmtpOptions
from openoms.notify.notice_sms import OutboxSmsChannel
from openoms.notify.webhooks import RobotTarget, WebhookChannel
from openoms.outages.notice_texts import RenderOptions, lang_of, render_notice
from openoms.outages.notices import (
    MEDIA_CHANNELS,
    ROBOT_CHANNELS,
    NoticeAction,
    NoticeChannel,
    NoticeKind,
    NoticeSubject,
    NoticeView,
    is_active,
    merge_clusters,
    quiet_hours_end,
    subject_key,
    view_of,
)
from openoms.service.context import ServiceContext
from openoms.service.notice_cap import hold_over_cap
from openoms.settings import Settings, parse_quiet_hours
from openoms.store import customers as customer_store
from openoms.store import db
from openoms.store import notices as notice_store
from openoms.store.outbox import RetryPolicy

__all__ = [
    "DeliveryRound",
    "NoticeWorker",
    "PublishResult",
    "build_adapters",
    "customer_element_ids",
    "deliver_due",
    "import_customers",
    "preview_notice",
    "publish_notice",
    "render_options",
    "retry_policy",
]

log = logging.getLogger(__name__)

_HELD_KINDS = frozenset({NoticeKind.PLANNED.value, NoticeKind.TEMPORARY.value})
_HELD_ACTIONS = frozenset({NoticeAction.NEW.value, NoticeAction.CHANGED.value})


@dataclass(frozen=True, slots=True)
class PublishResult:
    notice_id: int
    created: bool  # False: this revision and action were published before
    customers: int  # customers the notice concerns on at least one channel
    deliveries: int  # deliveries recorded now (customers × channels, robots, media)
    superseded: int  # pending older messages replaced by these


def render_options(settings: Settings) -> RenderOptions:
    return RenderOptions(
        timezone=settings.timezone,
        signature_zh=settings.notice_signature_zh,
        signature_en=settings.notice_signature_en,
        hotline=settings.notice_hotline,
    )


def _digest(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _content(view: NoticeView) -> str:
    """What a message says, without how it reads (new or correction) and to whom."""
    final = view.action if view.action in (NoticeAction.CANCELLED, NoticeAction.RESTORED) else ""
    return _digest(
        [
            view.kind,
            final,
            view.starts_at.isoformat(),
            view.ends_at.isoformat() if view.ends_at else None,
            view.lines,
            view.villages,
            view.streets,
            view.reasons_zh,
            view.reasons_en,
        ]
    )


def _key(channel: str, who: str, refs: Sequence[str], content: str) -> str:
    return f"{channel}:{who}:{_digest(sorted(refs))}:{content}"


def _last_about(
    history: Sequence[tuple[frozenset[str], str]], refs: set[str]
) -> tuple[frozenset[str], str] | None:
    for told_refs, key in reversed(history):
        if told_refs & refs:
            return told_refs, key
    return None


@dataclass(frozen=True, slots=True)
class _Message:
    view: NoticeView
    refs: tuple[str, ...]  # subject keys the delivery records
    prior_key: str | None  # the last message on the same subjects this recipient got


def _customer_message(
    subject: NoticeSubject,
    previous: NoticeSubject | None,
    customer: Customer,
    clusters: Sequence[tuple[NoticeSubject, ...]],
    *,
    told: Sequence[tuple[frozenset[str], str]],
    pending: Sequence[tuple[frozenset[str], str]],
) -> _Message | None:
    """What ``customer`` is told about ``subject`` (None: nothing). ``told``: the messages
    it got, ``pending``: those still waiting (superseded by whatever this returns)."""
    account = customer.account
    if is_active(subject) and customer.element_id in subject.element_ids:
        cluster = next(c for c in clusters if any(s.ref == subject.ref for s in c))
        prior = _last_about(told, {s.ref for s in cluster})
        action = NoticeAction.CHANGED if prior else NoticeAction.NEW
        view = view_of(cluster, action=action, account=account)
        return _Message(view, view.refs, prior[1] if prior else None)
    # The subject no longer cuts this customer. What it was told, or was about to be told,
    # together with the subject, may still hold for other subjects: say that alone.
    prior = _last_about(told, {subject.ref})
    related = set(prior[0]) if prior else set()
    for refs, _ in pending:
        if subject.ref in refs:
            related |= refs
    related.discard(subject.ref)
    merged = [s for c in clusters if any(s.ref in related for s in c) for s in c]
    if merged:
        earlier = _last_about(told, {s.ref for s in merged})
        action = NoticeAction.CHANGED if earlier else NoticeAction.NEW
        view = view_of(merged, action=action, account=account)
        return _Message(view, (*view.refs, subject_key(subject)), earlier[1] if earlier else None)
    if prior is None:
        return None  # never told: superseding what waits is enough
    final = subject.action in (NoticeAction.CANCELLED, NoticeAction.RESTORED)
    old = subject if final or previous is None else previous
    action = (
        NoticeAction.RESTORED if subject.action == NoticeAction.RESTORED else NoticeAction.CANCELLED
    )
    view = view_of([old], action=action, account=account)
    return _Message(view, (*view.refs, subject_key(subject)), prior[1])


def _group_message(
    subject: NoticeSubject, history: Sequence[tuple[frozenset[str], str]]
) -> _Message | None:
    """What a group robot or the media feed is told: the subject itself."""
    prior = _last_about(history, {subject.ref})
    if is_active(subject):
        action = NoticeAction.CHANGED if prior else NoticeAction.NEW
    elif prior is None:
        return None  # a cancellation of what was never announced
    else:
        action = NoticeAction(subject.action)
    view = view_of([subject], action=action)
    return _Message(view, view.refs, prior[1] if prior else None)


class _Recorder:
    """Renders and records deliveries of one notice."""

    def __init__(
        self,
        session: Session,
        settings: Settings,
        subject: NoticeSubject,
        notice_id: int,
        now: datetime,
    ) -> None:
        self.session = session
        self.settings = settings
        self.options = render_options(settings)
        self.notice_id = notice_id
        self.now = now
        hold = subject.kind in _HELD_KINDS and subject.action in _HELD_ACTIONS
        self.not_before = now + timedelta(seconds=settings.notice_hold_s if hold else 0.0)
        self.quiet = parse_quiet_hours(settings.notice_quiet_hours)
        self.created = 0
        self.superseded = 0

    def record(
        self,
        message: _Message,
        channel: NoticeChannel,
        *,
        who: str,
        by_account: bool,
        recipient: str,
        lang: str,
        sensitive: bool = False,
    ) -> None:
        content = _content(message.view)
        if message.prior_key is not None and message.prior_key.rsplit(":", 1)[-1] == content:
            return  # told exactly this already
        rendered = render_notice(message.view, channel, lang=lang_of(lang), options=self.options)
        key = _key(channel.value, who, message.refs, content)
        not_before = self.not_before
        if channel is NoticeChannel.SMS and not sensitive:
            quiet_end = quiet_hours_end(not_before, self.quiet, timezone=self.settings.timezone)
            not_before = quiet_end or not_before
        _, created = notice_store.add_delivery(
            self.session,
            notice_id=self.notice_id,
            channel=channel.value,
            account=who if by_account else None,
            recipient=recipient,
            lang=lang,
            title=rendered.title or None,
            body=rendered.body,
            dedupe_key=key,
            refs=message.refs,
            sensitive=sensitive,
            not_before=not_before,
            now=self.now,
        )
        if created:
            self.created += 1
            bare = {r.rsplit("@", 1)[0] for r in message.refs}
            self.superseded += len(
                notice_store.supersede_pending(
                    self.session,
                    channel=channel.value,
                    who=who,
                    by_account=by_account,
                    refs=bare,
                    keep=key,
                )
            )


def _drop_pending(
    recorder: _Recorder, channel: NoticeChannel, who: str, *, by_account: bool, ref: str
) -> None:
    recorder.superseded += len(
        notice_store.supersede_pending(
            recorder.session,
            channel=channel.value,
            who=who,
            by_account=by_account,
            refs={ref},
            keep="",
        )
    )


def publish_notice(
    context: ServiceContext, session: Session, subject: NoticeSubject, *, now: datetime
) -> PublishResult:
    """Publish one revision of ``subject``: record the notice and a delivery for everyone
    it concerns, in ``session`` (the caller commits). Publishing the same revision again
    records nothing new. An older revision than the published one raises
    :class:`openoms.store.notices.StaleSubjectError`."""
    settings = context.settings
    previous = notice_store.save_subject(session, subject, now=now)
    notice_id, created = notice_store.record_notice(session, subject, now=now)
    recorder = _Recorder(session, settings, subject, notice_id, now)
    elements = set(subject.element_ids) | (set(previous.element_ids) if previous else set())
    customers = customer_store.customers_on_elements(session, elements)
    channels = customer_store.effective_channels(session, customers)
    by_element: dict[str, list[NoticeSubject]] = {}
    for active in notice_store.subjects_on(session, elements):
        for element in set(active.element_ids) & elements:
            by_element.setdefault(element, []).append(active)
    clusters = {element: merge_clusters(subs) for element, subs in by_element.items()}
    concerned: set[str] = set()
    for channel in CustomerChannel:
        reached = [c for c in customers if channel in channels[c.account]]
        accounts = [c.account for c in reached]
        history = notice_store.told(session, channel=channel.value, who=accounts, by_account=True)
        waiting = notice_store.told(
            session, channel=channel.value, who=accounts, by_account=True, pending=True
        )
        for customer in reached:
            message = _customer_message(
                subject,
                previous,
                customer,
                clusters.get(customer.element_id, []),
                told=history.get(customer.account, []),
                pending=waiting.get(customer.account, []),
            )
            if message is None:
                _drop_pending(
                    recorder,
                    NoticeChannel(channel.value),
                    customer.account,
                    by_account=True,
                    ref=subject.ref,
                )
                continue
            concerned.add(customer.account)
            contact = customer.phone if channel is CustomerChannel.SMS else customer.email
            recorder.record(
                message,
                NoticeChannel(channel.value),
                who=customer.account,
                by_account=True,
                recipient=contact or "",
                lang=customer.lang,
                sensitive=customer.sensitive,
            )
    groups = [
        (NoticeChannel(robot.kind), robot.name, robot.lang) for robot in settings.notice_robots
    ]
    groups += [
        (channel, f"media-{lang}", lang)
        for lang in settings.notice_media_langs
        for channel in sorted(MEDIA_CHANNELS)
    ]
    for group_channel, name, lang in groups:
        history = notice_store.told(
            session, channel=group_channel.value, who=[name], by_account=False
        )
        message = _group_message(subject, history.get(name, []))
        if message is None:
            _drop_pending(recorder, group_channel, name, by_account=False, ref=subject.ref)
        else:
            recorder.record(
                message, group_channel, who=name, by_account=False, recipient=name, lang=lang
            )
    log.info(
        "notice %d (%s revision %d, %s): %d customer(s), %d new delivery(ies), %d superseded",
        notice_id,
        subject.ref,
        subject.revision,
        subject.action,
        len(concerned),
        recorder.created,
        recorder.superseded,
    )
    return PublishResult(notice_id, created, len(concerned), recorder.created, recorder.superseded)


def customer_element_ids(network: Network) -> set[str]:
    """What a customer may be supplied from: the network's transformer areas and HV
    customers."""
    return set(network.transformer_areas.id) | set(network.hv_customers.id)


def import_customers(
    session: Session,
    text: str,
    *,
    source: str,
    element_ids: set[str],
    network: str,
    now: datetime,
) -> int:
    """Check a customer CSV (every row, and every ``element_id`` against ``element_ids``)
    and replace the customers with it, in ``session``; the number imported. Any problem
    raises :class:`openoms.contacts.customers.CustomerFileError` and nothing changes."""
    found = parse_customers(text, source=source)
    check_elements(found, element_ids, source=source, network=network)
    return customer_store.replace_customers(session, found, source=source, now=now)


def preview_notice(
    subject: NoticeSubject, channel: NoticeChannel, *, lang: str, settings: Settings
) -> tuple[str, str]:
    """The (title, body) ``subject`` would have on ``channel``, stored nowhere."""
    rendered = render_notice(
        view_of([subject]), channel, lang=lang_of(lang), options=render_options(settings)
    )
    return rendered.title, rendered.body


@dataclass(frozen=True, slots=True)
class DeliveryRound:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    unconfirmed: int = 0
    postponed: int = 0


def _per_minute(settings: Settings, channel: NoticeChannel) -> int:
    if channel is NoticeChannel.SMS:
        return settings.notice_sms_per_minute
    if channel is NoticeChannel.EMAIL:
        return settings.notice_email_per_minute
    if channel in ROBOT_CHANNELS:
        return settings.notice_robot_per_minute
    return 10_000  # the media feed is a table


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        base_delay_s=30.0, max_delay_s=3600.0, max_attempts=settings.notice_max_attempts
    )


def deliver_due(
    context: ServiceContext,
    adapters: Mapping[NoticeChannel, ChannelAdapter],
    *,
    now: datetime | None = None,
    batch: int = 50,
    engine: Engine | None = None,
) -> DeliveryRound:
    """Send what is due on each channel of ``adapters``, within its rate limit (deliveries
    attempted in the last minute count), and record each result. ``engine``: the database
    connections to use (default the context's workers' pool)."""
    settings = context.settings
    engine = engine or context.engine
    sessions = db.make_session_factory(engine)
    policy = retry_policy(settings)
    quiet = parse_quiet_hours(settings.notice_quiet_hours)
    counts = {"sent": 0, "retried": 0, "failed": 0, "unconfirmed": 0, "postponed": 0}
    # One read first: on SQLite a read-write transaction takes the write lock at its start,
    # and an idle worker must not take it every round.
    with db.make_session_factory(engine, read_only=True)() as session:
        due = notice_store.due_channels(
            session, now=now or context.clock(), channels=[c.value for c in adapters]
        )
    for channel, adapter in adapters.items():
        if channel.value not in due:
            continue
        at = now or context.clock()
        with sessions.begin() as session:
            used = notice_store.sent_since(
                session, channel=channel.value, since=at - timedelta(minutes=1)
            )
            room = min(batch, _per_minute(settings, channel) - used)
            if room <= 0:
                continue
            items = notice_store.claim_due(session, now=at, limit=room, channels=[channel.value])
        for item in items:
            quiet_end = None
            if channel is NoticeChannel.SMS and not item.sensitive:
                quiet_end = quiet_hours_end(at, quiet, timezone=settings.timezone)
            if quiet_end is not None:
                with sessions.begin() as session:
                    notice_store.postpone(session, item.id, until=quiet_end, reason="quiet hours")
                counts["postponed"] += 1
                continue
            if hold_over_cap(sessions, item, at=at, settings=settings):
                counts["postponed"] += 1
                continue
            outcome = _send(sessions, adapter, item, policy=policy, now=now, clock=context.clock)
            counts[outcome] += 1
    return DeliveryRound(**counts)


def _send(
    sessions: sessionmaker[Session],
    adapter: ChannelAdapter,
    item: notice_store.DeliveryItem,
    *,
    policy: RetryPolicy,
    now: datetime | None,
    clock: Callable[[], datetime],
) -> str:
    message = OutgoingMessage(
        key=item.dedupe_key,
        channel=NoticeChannel(item.channel),
        recipient=item.recipient,
        name=item.account or item.recipient,
        title=item.title,
        body=item.body,
        lang=item.lang,
    )
    who = f"{item.channel} to {item.masked_recipient}"
    try:
        receipt = adapter.send(message)
    except ChannelUnavailableError as exc:
        return _failed(sessions, item, str(exc), permanent=False, policy=policy, at=now or clock())
    except ChannelRejectedError as exc:
        return _failed(sessions, item, str(exc), permanent=True, policy=policy, at=now or clock())
    except (ChannelOutcomeUnknownError, Exception) as exc:  # it may have gone out
        with sessions.begin() as session:
            notice_store.mark_unconfirmed(session, item.id, reason=str(exc) or repr(exc))
        log.error("notice delivery %d %s: %r; unconfirmed, not resent", item.id, who, exc)
        return "unconfirmed"
    with sessions.begin() as session:
        notice_store.mark_sent(
            session, item.id, now=now or clock(), result=receipt.result, outbox_id=receipt.outbox_id
        )
    log.info("notice delivery %d %s: %s", item.id, who, receipt.result)
    return "sent"


def _failed(
    sessions: sessionmaker[Session],
    item: notice_store.DeliveryItem,
    error: str,
    *,
    permanent: bool,
    policy: RetryPolicy,
    at: datetime,
) -> str:
    with sessions.begin() as session:
        state = notice_store.mark_attempt_failed(
            session, item.id, error=error, now=at, policy=policy, permanent=permanent
        )
    log.warning(
        "notice delivery %d %s to %s, attempt %d: %s; now %s",
        item.id,
        item.channel,
        item.masked_recipient,
        item.attempts,
        error,
        state,
    )
    return "retried" if state.value == "pending" else "failed"


def build_adapters(
    context: ServiceContext, *, wake_sms: Callable[[], None] | None = None
) -> dict[NoticeChannel, ChannelAdapter]:
    """The channel adapters the settings configure: SMS through the outbox and the media feed
    always, e-mail with an SMTP host, each kind of group robot that has one."""
    settings = context.settings
    adapters: dict[NoticeChannel, ChannelAdapter] = {
        NoticeChannel.SMS: OutboxSmsChannel(context.sessions, clock=context.clock, wake=wake_sms),
        NoticeChannel.WEIBO: MediaFeedChannel(NoticeChannel.WEIBO),
        NoticeChannel.BROADCAST: MediaFeedChannel(NoticeChannel.BROADCAST),
    }
    if settings.smtp_host:
        adapters[NoticeChannel.EMAIL] = EmailChannel(
            SmtpOptions(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.smtp_sender,
                starttls=settings.smtp_starttls,
                username=settings.smtp_username,
                password=settings.smtp_password,
            )
        )
    for kind in sorted(ROBOT_CHANNELS):
        targets = {
            robot.name: RobotTarget(robot.name, kind, robot.url, robot.secret, robot.lang)
            for robot in settings.notice_robots
            if robot.kind == kind.value
        }
        if targets:
            adapters[kind] = WebhookChannel(kind, targets, clock=context.clock)
    return adapters


class NoticeWorker:
    """Runs :func:`deliver_due` in a thread of its own: when the next delivery falls due, at
    the latest every ``poll_s``, or at once on :meth:`wake`.

    At :meth:`start`, deliveries left in ``sending`` by a stopped process become
    ``unconfirmed`` (they may have gone out; never resent blindly)."""

    def __init__(
        self,
        context: ServiceContext,
        adapters: Mapping[NoticeChannel, ChannelAdapter],
        *,
        poll_s: float = 5.0,
    ) -> None:
        self._context = context
        self._adapters = dict(adapters)
        self._poll_s = poll_s
        self._engine = context.engine  # the workers' pool
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.recovered: list[int] = []

    def start(self) -> None:
        with db.make_session_factory(self._engine).begin() as session:
            self.recovered = notice_store.recover_interrupted(session)
        for delivery_id in self.recovered:
            log.warning(
                "notice delivery %d was being sent when the service stopped: unconfirmed",
                delivery_id,
            )
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="notice-worker", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            self._thread = None
        for adapter in self._adapters.values():
            close = getattr(adapter, "close", None)
            if callable(close):
                close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                deliver_due(self._context, self._adapters, engine=self._engine)
                timeout = self._sleep_s()
            except Exception:
                log.exception("notice delivery round failed; retrying")
                timeout = self._poll_s
            self._wake.wait(timeout)

    def _sleep_s(self) -> float:
        """Until the next delivery falls due, at most ``poll_s`` (a publication by another
        process is seen within that; :meth:`wake` cuts it short)."""
        with db.make_session_factory(self._engine, read_only=True)() as session:
            due = notice_store.next_due_at(session, channels=[c.value for c in self._adapters])
        if due is None:
            return self._poll_s
        wait = (due - self._context.clock()).total_seconds()
        return min(max(wait, 0.05), self._poll_s)
