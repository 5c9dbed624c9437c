"""Publishing notices: targeting, the merge of overlapping subjects per customer,
corrections and cancellations, subscriptions, quiet hours, rate limits, and no duplicate
on a repeat (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from openoms.contacts.customers import COLUMNS, CustomerChannel, parse_customers
from openoms.notify.channels import ChannelAdapter, MediaFeedChannel
from openoms.notify.notice_sms import OutboxSmsChannel
from openoms.outages.notices import NoticeChannel, NoticeSubject
from openoms.service.context import ServiceContext
from openoms.service.notices import PublishResult, deliver_due, publish_notice
from openoms.store import customers as customer_store
from openoms.store import notices as notice_store
from openoms.store.customers import SubscriptionScope, UnknownCustomerError
from openoms.store.tables import OutboxMessage
from tests.notify.notice_helpers import (
    T0,
    Clock,
    all_deliveries,
    import_customers,
    live,
    make_context,
    planned,
)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def context(engine: Engine, sessions: sessionmaker[Session], clock: Clock) -> ServiceContext:
    import_customers(sessions)
    return make_context(engine, sessions, clock, notice_hold_s=0.0)


def publish(context: ServiceContext, subject: NoticeSubject) -> PublishResult:
    with context.sessions.begin() as session:
        return publish_notice(context, session, subject, now=context.clock())


def adapters(context: ServiceContext) -> dict[NoticeChannel, ChannelAdapter]:
    return {
        NoticeChannel.SMS: OutboxSmsChannel(context.sessions, clock=context.clock),
        NoticeChannel.WEIBO: MediaFeedChannel(NoticeChannel.WEIBO),
        NoticeChannel.BROADCAST: MediaFeedChannel(NoticeChannel.BROADCAST),
    }


def personal(session: Session) -> Counter[tuple[str | None, str]]:
    """How many live messages each (account, channel) has."""
    return Counter((d.account, d.channel) for d in live(session) if d.account is not None)


def test_every_affected_customer_gets_one_notice_per_channel_and_no_one_else(
    context: ServiceContext,
) -> None:
    result = publish(context, planned("planned:1", 0, 10, ("TA1", "HV1")))
    with context.sessions() as session:
        got = personal(session)
        media = [d.channel for d in live(session) if d.account is None]
    # TA1: 1001 by SMS and e-mail, 1002 by SMS, 1003 by e-mail; HV1: 9001 by e-mail.
    assert got == Counter(
        {
            ("1001", "sms"): 1,
            ("1001", "email"): 1,
            ("1002", "sms"): 1,
            ("1003", "email"): 1,
            ("9001", "email"): 1,
        }
    )
    assert sorted(media) == ["broadcast", "weibo"]  # one per notice, not per customer
    assert result.customers == 4
    assert result.deliveries == 7


def test_publishing_the_same_revision_again_records_nothing(context: ServiceContext) -> None:
    subject = planned("planned:1", 0, 10, ("TA1",))
    first = publish(context, subject)
    again = publish(context, subject)
    assert again.notice_id == first.notice_id
    assert again.created is False
    assert again.deliveries == 0
    with context.sessions() as session:
        # TA1: 1001 by SMS and e-mail, 1002 by SMS, 1003 by e-mail; Weibo and broadcast.
        assert len(all_deliveries(session)) == 6


def test_texts_are_in_each_customers_language(context: ServiceContext) -> None:
    publish(context, planned("planned:1", 0, 10, ("TA1",)))
    with context.sessions() as session:
        by = {(d.account, d.channel): d for d in live(session)}
    assert by[("1001", "sms")].body.startswith("【供电公司】停电通知：尊敬的客户（户号1001）")
    assert "12月11日08:00至18:00" in by[("1001", "sms")].body
    anna = by[("1003", "email")]
    assert anna.title == "Planned power outage: 11 Dec 08:00 to 18:00"
    assert anna.recipient == "anna@example.com"
    assert by[("1001", "email")].title == "停电通知：12月11日08:00至18:00"


class TestMerge:
    def test_overlapping_bookings_pending_together_merge_into_one_message(
        self, context: ServiceContext
    ) -> None:
        # A: TA1 + TA2, 08:00-12:00 local; B: TA2, 10:00-16:00 local (overlaps A on TA2).
        publish(context, planned("planned:A", 0, 4, ("TA1", "TA2")))
        publish(context, planned("planned:B", 2, 8, ("TA2",), villages=("李村",)))
        with context.sessions() as session:
            got = personal(session)
            by = {(d.account, d.channel): d for d in live(session)}
            superseded = [d for d in all_deliveries(session) if d.state == "superseded"]
        # Still one message per customer and channel: TA2's pending A message was replaced.
        assert set(got.values()) == {1}
        assert ("2001", "sms") in got
        assert ("5001", "sms") not in got
        assert {d.account for d in superseded} == {"2001", "2002"}
        # TA2 hears of one outage 08:00-16:00 on 李村 and 王庄村; TA1 of A alone, 08:00-12:00.
        assert "12月11日08:00至16:00" in by[("2001", "sms")].body
        assert "停电通知：" in by[("2001", "sms")].body  # new, not a correction: A never went
        assert "12月11日08:00至12:00" in by[("1002", "sms")].body

    def test_a_booking_that_overlaps_one_already_sent_sends_a_correction(
        self, context: ServiceContext
    ) -> None:
        publish(context, planned("planned:A", 0, 4, ("TA1", "TA2")))
        deliver_due(context, adapters(context))
        publish(context, planned("planned:B", 2, 8, ("TA2",), villages=("李村",)))
        with context.sessions() as session:
            got = personal(session)
            latest = {(d.account, d.channel): d for d in live(session)}
        assert got[("2001", "sms")] == 2  # the first notice, and the correction
        assert got[("1002", "sms")] == 1  # TA1 is not under B: nothing new
        body = latest[("2001", "sms")].body
        assert "停电通知（更正）" in body
        assert "12月11日08:00至16:00" in body

    def test_cancelling_one_of_a_merged_pair_leaves_the_other_alone(
        self, context: ServiceContext
    ) -> None:
        # A and B merged into one pending message on TA2; A is cancelled before it went:
        # TA2's customers get one message about B alone (new: they were told nothing yet).
        publish(context, planned("planned:A", 0, 4, ("TA2",)))
        publish(context, planned("planned:B", 2, 8, ("TA2",)))
        publish(context, planned("planned:A", 0, 4, ("TA2",), revision=2, action="cancelled"))
        with context.sessions() as session:
            got = personal(session)
            latest = {(d.account, d.channel): d for d in live(session)}
        assert got == Counter({("2001", "sms"): 1, ("2002", "sms"): 1})
        body = latest[("2001", "sms")].body
        assert "【供电公司】停电通知：" in body
        assert "12月11日10:00至16:00" in body  # B's window alone

    def test_windows_with_a_gap_stay_separate_notices(self, context: ServiceContext) -> None:
        publish(context, planned("planned:A", 0, 4, ("TA2",)))
        publish(context, planned("planned:B", 5, 8, ("TA2",)))  # an hour after A ends
        with context.sessions() as session:
            assert personal(session)[("2001", "sms")] == 2


class TestCorrectionsAndCancellations:
    def test_a_change_a_removed_area_and_a_cancellation(self, context: ServiceContext) -> None:
        publish(context, planned("planned:A", 0, 4, ("TA1", "TA2")))
        deliver_due(context, adapters(context))
        # revision 2: later, and TA2 no longer affected
        publish(context, planned("planned:A", 1, 5, ("TA1",), revision=2, action="changed"))
        with context.sessions() as session:
            latest = {(d.account, d.channel): d for d in live(session)}
        assert "停电通知（更正）" in latest[("1002", "sms")].body
        assert "12月11日09:00至13:00" in latest[("1002", "sms")].body
        assert "停电取消通知" in latest[("2001", "sms")].body  # TA2: off the list, told so
        assert "12月11日08:00至12:00" in latest[("2001", "sms")].body  # the window it had
        deliver_due(context, adapters(context))
        publish(context, planned("planned:A", 1, 5, ("TA1",), revision=3, action="cancelled"))
        with context.sessions() as session:
            got = personal(session)
            latest = {(d.account, d.channel): d for d in live(session)}
        assert "停电取消通知" in latest[("1002", "sms")].body
        assert got[("1002", "sms")] == 3  # new, correction, cancellation
        assert got[("2001", "sms")] == 2  # new, cancellation (not told again)
        assert ("5001", "sms") not in got

    def test_a_cancellation_of_what_nobody_was_told_sends_nothing(
        self, context: ServiceContext
    ) -> None:
        publish(context, planned("planned:A", 0, 4, ("TA1",)))
        publish(context, planned("planned:A", 0, 4, ("TA1",), revision=2, action="cancelled"))
        with context.sessions() as session:
            assert live(session) == []  # the pending notice was superseded, nothing replaces it

    def test_an_older_revision_is_refused(self, context: ServiceContext) -> None:
        publish(context, planned("planned:A", 0, 4, ("TA1",), revision=2))
        with pytest.raises(notice_store.StaleSubjectError, match="revision 1 is older"):
            publish(context, planned("planned:A", 0, 4, ("TA1",), revision=1))


class TestSubscriptions:
    def test_unsubscribe_by_account_and_by_address(self, context: ServiceContext) -> None:
        with context.sessions.begin() as session:
            customer_store.set_subscription(
                session,
                scope=SubscriptionScope.ACCOUNT,
                key="1001",
                channel=CustomerChannel.SMS,
                subscribed=False,
                now=T0,
            )
            n = customer_store.set_subscription(
                session,
                scope=SubscriptionScope.ADDRESS,
                key=" 王庄村 2号",  # blanks do not matter
                channel=CustomerChannel.SMS,
                subscribed=False,
                now=T0,
            )
        assert n == 1
        publish(context, planned("planned:1", 0, 10, ("TA1",)))
        with context.sessions() as session:
            got = personal(session)
        assert got == Counter({("1001", "email"): 1, ("1003", "email"): 1})

    def test_an_account_choice_wins_over_its_address(self, context: ServiceContext) -> None:
        with context.sessions.begin() as session:
            for scope, key, on in (
                (SubscriptionScope.ADDRESS, "王庄村2号", False),
                (SubscriptionScope.ACCOUNT, "1002", True),
            ):
                customer_store.set_subscription(
                    session,
                    scope=scope,
                    key=key,
                    channel=CustomerChannel.SMS,
                    subscribed=on,
                    now=T0,
                )
        publish(context, planned("planned:1", 0, 10, ("TA1",)))
        with context.sessions() as session:
            assert personal(session)[("1002", "sms")] == 1

    def test_unknown_accounts_and_addresses_are_named(self, context: ServiceContext) -> None:
        with (
            context.sessions.begin() as session,
            pytest.raises(UnknownCustomerError, match="no customer with address '月球1号'"),
        ):
            customer_store.set_subscription(
                session,
                scope=SubscriptionScope.ADDRESS,
                key="月球1号",
                channel=CustomerChannel.SMS,
                subscribed=True,
                now=T0,
            )


class TestDelivery:
    def test_sms_go_through_the_outbox_once(self, context: ServiceContext) -> None:
        publish(context, planned("planned:1", 0, 10, ("TA1", "TA2")))
        first = deliver_due(context, adapters(context))
        again = deliver_due(context, adapters(context))
        # SMS: 1001, 1002, 2001, 2002; media: weibo and broadcast. E-mail has no adapter
        # here: those deliveries wait.
        assert first.sent == 6
        assert again.sent == 0
        with context.sessions() as session:
            rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
            feed = notice_store.media_feed(session)
        assert sorted(r.recipient_phone for r in rows) == [
            "13800001001",
            "13800001002",
            "13800002001",
            "13800002002",
        ]
        assert {r.kind for r in rows} == {"notice"}
        assert sorted(d.channel for d in feed) == ["broadcast", "weibo"]

    def test_quiet_hours_hold_sms_except_to_sensitive_customers(
        self, engine: Engine, sessions: sessionmaker[Session]
    ) -> None:
        import_customers(sessions)
        # 15:30 UTC is 23:30 in Asia/Shanghai: inside the default quiet hours 22:00-07:00.
        clock = Clock(T0.replace(hour=15, minute=30))
        context = make_context(engine, sessions, clock, notice_hold_s=0.0)
        publish(context, planned("planned:1", 0, 10, ("TA2",)))
        done = deliver_due(context, adapters(context))
        with sessions() as session:
            sms = {d.account: d for d in live(session) if d.channel == "sms"}
        assert sms["2002"].state == "sent"  # the nursing home is told at once
        assert sms["2001"].state == "pending"
        # until 07:00 local on the next day = 23:00 UTC
        assert sms["2001"].not_before == T0.replace(hour=23, minute=0)
        assert done.sent == 3  # the nursing home's SMS and the two media texts
        clock.now = T0.replace(hour=23, minute=0)
        assert deliver_due(context, adapters(context)).sent == 1

    def test_the_rate_limit_spreads_sms_over_minutes(
        self, engine: Engine, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        import_customers(sessions)
        context = make_context(engine, sessions, clock, notice_hold_s=0.0, notice_sms_per_minute=3)
        publish(context, planned("planned:1", 0, 10, ("TA1", "TA2")))  # 4 SMS
        sms_only: dict[NoticeChannel, ChannelAdapter] = {
            NoticeChannel.SMS: OutboxSmsChannel(sessions, clock=clock)
        }
        assert deliver_due(context, sms_only).sent == 3
        clock.advance(seconds=30)
        assert deliver_due(context, sms_only).sent == 0
        clock.advance(seconds=31)  # the first three are more than a minute old
        assert deliver_due(context, sms_only).sent == 1

    def test_the_hold_lets_bookings_saved_together_merge(
        self, engine: Engine, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        import_customers(sessions)
        context = make_context(engine, sessions, clock, notice_hold_s=60.0)
        publish(context, planned("planned:A", 0, 4, ("TA2",)))
        assert deliver_due(context, adapters(context)).sent == 0
        clock.advance(seconds=20)
        publish(context, planned("planned:B", 2, 8, ("TA2",)))
        clock.advance(seconds=61)
        deliver_due(context, adapters(context))
        with sessions() as session:
            count = session.scalar(select(func.count()).select_from(OutboxMessage))
        assert count == 2  # 2001 and 2002, once each, the merged window


class TestFaults:
    def test_a_fault_is_told_at_once_then_its_restoration(self, context: ServiceContext) -> None:
        fault = planned("outage:5", 0, 3, ("TA2",), kind="fault", villages=("李村",))
        publish(context, fault)
        assert deliver_due(context, adapters(context)).sent == 4  # no hold: 2 SMS, 2 media
        restored = planned(
            "outage:5",
            0,
            2,
            ("TA2",),
            kind="fault",
            revision=2,
            action="restored",
            villages=("李村",),
        )
        publish(context, restored)
        with context.sessions() as session:
            latest = {(d.account, d.channel): d for d in live(session)}
        # told at 08:00 local with the ETA 11:00; supply back at 10:00 local
        assert "恢复供电通知" in latest[("2001", "sms")].body
        assert "李村已于12月11日10:00恢复供电" in latest[("2001", "sms")].body
        assert "恢复供电通知" in latest[(None, "weibo")].body


def test_customer_lookups_for_trouble_calls(context: ServiceContext) -> None:
    with context.sessions() as session:
        by_account = customer_store.customer_by_account(session, "2002")
        by_meter = customer_store.customer_by_meter(session, "M1001")
        assert customer_store.customer_by_account(session, "nobody") is None
        assert customer_store.customer_by_meter(session, "M-nope") is None
    assert by_account is not None
    assert by_account.element_id == "TA2"
    assert by_account.sensitive
    assert by_meter is not None
    assert by_meter.account == "1001"
    assert by_meter.channels == (CustomerChannel.SMS, CustomerChannel.EMAIL)


def test_an_import_replaces_every_customer(context: ServiceContext) -> None:
    header = ",".join(COLUMNS)
    fresh = parse_customers(
        f"{header}\n7,新户,13800007777,,新村1号,,新村,TA5,,,sms,no\n", source="b.csv"
    )
    with context.sessions.begin() as session:
        assert customer_store.replace_customers(session, fresh, source="b.csv", now=T0) == 1
    with context.sessions() as session:
        assert [c.account for c in customer_store.list_customers(session)] == ["7"]
        assert customer_store.count_customers(session) == 1
