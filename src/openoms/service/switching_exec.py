"""FLISR execution: a restoration plan carried out over IEC 104, step by step
(docs/restoration.md, "Execution over IEC 104").

What is executed: an approved plan (advisory mode, when the IEC 104 master runs), a plan of a
feeder in ``automatic`` mode as soon as it is computed, and in ``restore_only`` mode the
closings of a plan once the crew's openings are confirmed (every switch the plan opens,
isolation and island splits, open in the live topology: OpenOMS only re-energises).
:func:`queue_execution` records the execution and holds its
switches and receiving feeders (:mod:`openoms.store.switching`: a second execution using any
of them is refused, HTTP 409); the :class:`SwitchingExecutor` thread carries it out:

- each step in order: a step whose switch is already in position is ``skipped``; a manual
  step (or a remote switch without a command address) stops the execution: the rest is the
  crew's switching order (``stopped``, with the steps left named);
- before a closing, the interlocks: it must not energise the faulted region, nor parallel
  two feeders;
- a command: its intent is committed first, then :meth:`Commander.operate` (select, execute,
  position feedback), then its outcome; the next step only after the feedback;
- a failed opening widens the isolation: the planner's ``replan`` on the state the plan was
  computed on, with the switch marked failed, stored as the plan's next revision
  (``widened_after``), and execution goes on with it (steps already done are skipped);
- a failed closing stops the execution (``failed``): the dispatcher recomputes.

Restart: no command is sent twice. :meth:`SwitchingExecutor.recover` (at start) marks every
command with an intent and no outcome ``unconfirmed`` (never resent; its note says to check
the switch) and ends every execution that was running as ``interrupted``; queued ones (nothing
sent yet) go on.

The switch events the commands cause are recorded by the event processor like any other
(:func:`restoration_how`: ``how`` = ``flisr`` for a switch commanded by an execution, its
operation carrying whether its customers' interruption was momentary or sustained by the
reliability threshold, :func:`interruption_of`), so the reliability history counts FLISR's
restorations right.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Protocol

import numpy as np
from sqlalchemy.orm import Session

from openoms.grid.topology import LoopKind, Topology
from openoms.outages.lifecycle import OPEN_STATES
from openoms.service.context import ServiceContext
from openoms.settings import Settings
from openoms.store import outages as outage_store
from openoms.store import restoration_plans as plan_store
from openoms.store import switching as store
from openoms.store.db import make_session_factory

if TYPE_CHECKING:  # the IEC 104 master is imported by the runtime, when it runs one
    from openoms.ingest.iec104 import CommandOutcome
    from openoms.ingest.iec104_points import CommandRef

__all__ = [
    "Commander",
    "SwitchingExecutor",
    "interruption_of",
    "queue_execution",
    "resources_of",
    "restoration_how",
]

log = logging.getLogger("openoms.restoration.execution")

FLISR_WINDOW: Final = timedelta(minutes=10)  # a switch event this soon after a command is FLISR's


class Commander(Protocol):
    """What executes a command: the IEC 104 master."""

    def command_ref(self, switch_id: str) -> CommandRef | None: ...

    def operate(self, switch_id: str, close: bool) -> CommandOutcome: ...


def resources_of(plan: Mapping[str, Any]) -> list[str]:
    """What an execution of ``plan`` holds: its switches and receiving feeders."""
    devices = [str(s["device"]) for s in plan["steps"]]
    return devices + [f"feeder:{f}" for f in plan.get("receiving_feeders", ())]


def queue_execution(
    session: Session,
    outage_id: int,
    plan: Mapping[str, Any],
    *,
    mode: str,
    at: datetime,
    actor: str,
    role: str,
) -> dict[str, Any]:
    """Record an execution of ``plan`` for the executor (restore_only: waiting for the crew's
    isolation); :class:`~openoms.store.switching.ExecutionConflictError` when another active
    execution holds one of its switches or feeders."""
    state = "waiting_isolation" if mode == "restore_only" else "queued"
    return store.start_execution(
        session,
        outage_id,
        revision=int(plan["revision"]),
        mode=mode,
        state=state,
        resources=resources_of(plan),
        at=at,
        actor=actor,
        role=role,
    )


def interruption_of(settings: Settings, *, off_at: datetime, at: datetime) -> str:
    """``momentary`` or ``sustained``: customers off from ``off_at`` to ``at``, against the
    reliability threshold (``sustained_threshold_min``) and operator, as the reliability
    engine counts them."""
    threshold = timedelta(minutes=settings.sustained_threshold_min)
    off_for = at - off_at
    if settings.reliability_sustained_operator == ">=":
        return "sustained" if off_for >= threshold else "momentary"
    return "sustained" if off_for > threshold else "momentary"


def restoration_how(
    settings: Settings,
    session: Session,
    device: str,
    *,
    close: bool,
    off_at: datetime,
    at: datetime,
) -> tuple[str, list[dict[str, Any]]]:
    """``how`` and ``operations`` of the restoration step a switch event makes: ``flisr``
    when an execution commanded ``device`` lately (its operation says ``by`` flisr, how long
    its customers were off and whether that is a momentary or a sustained interruption),
    else ``switching`` as before."""
    operation: dict[str, Any] = {"device": device, "close": close}
    if not store.recent_command_on(session, device, since=at - FLISR_WINDOW):
        return "switching", [operation]
    operation |= {
        "by": "flisr",
        "interruption": interruption_of(settings, off_at=off_at, at=at),
        "off_s": round((at - off_at).total_seconds(), 3),
    }
    return "flisr", [operation]


@dataclass
class _Run:
    """One execution being carried out."""

    execution_id: int
    outage_id: int
    mode: str
    plan: dict[str, Any]
    base_closed: np.ndarray  # the switch states the plan was computed on
    done: dict[int, bool]  # edges operated by this execution → their position now
    failed: set[int]


class SwitchingExecutor:
    """Carries out the queued executions, one at a time, in its own thread (see the module
    doc). ``settle_s``: how long to wait for the live topology to show a confirmed
    operation (the event processor writes it from the same feedback)."""

    def __init__(
        self,
        context: ServiceContext,
        commander: Commander,
        *,
        poll_s: float = 0.2,
        settle_s: float = 5.0,
    ) -> None:
        self.context = context
        self.commander = commander
        self.poll_s = poll_s
        self.settle_s = settle_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # polling reads never take SQLite's write lock
        self._read = make_session_factory(context.engine, read_only=True)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self.recover()
        self._thread = threading.Thread(target=self._loop, name="openoms-flisr", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self.run_once() == 0:
                    self._stop.wait(self.poll_s)
            except Exception:
                log.exception("FLISR execution failed; retrying")
                self._stop.wait(1.0)

    def _now(self) -> datetime:
        return self.context.clock()

    # -- restart -----------------------------------------------------------------------------
    def recover(self) -> list[dict[str, Any]]:
        """Report the commands a restart left in flight (``unconfirmed``, never resent) and
        end the executions that were running (``interrupted``); returns those commands."""
        reported: list[dict[str, Any]] = []
        with self.context.sessions.begin() as session:
            now = self._now()
            for row in store.interrupted_commands(session):
                op = f"{'close' if row.close else 'open'} {row.device}"
                row.state = "unconfirmed"
                row.reason = (
                    f"{op}: OpenOMS stopped after recording this command and before its "
                    "outcome; it may or may not have been sent and carried out. Not sent "
                    "again: check the switch's position"
                )
                row.reason_zh = (
                    f"{'合上' if row.close else '拉开'} {row.device}：OpenOMS 在记录该命令后、"
                    "收到结果前停止，命令可能已发出或已执行；不会重发，请核对开关实际位置"
                )
                row.finished_at = now
                reported.append({"id": row.id, "outage_id": row.outage_id, "device": row.device})
                log.warning("outage %s: command %s unconfirmed after a restart", row.outage_id, op)
            session.flush()
            for execution in store.active_executions(session):
                if execution.state != "running":
                    continue
                store.finish_execution(
                    session,
                    execution.id,
                    state="interrupted",
                    note={
                        "zh": "OpenOMS 重启时该方案正在执行；未确认的命令不会重发，请核对开关位置"
                        "后重新计算方案",
                        "en": "OpenOMS restarted while the plan was being executed; a command "
                        "without an outcome is not sent again: check the switches and "
                        "recompute the plan",
                    },
                    at=now,
                )
        return reported

    # -- one pass ----------------------------------------------------------------------------
    def run_once(self) -> int:
        """Carry out every queued execution (and the restore_only ones whose openings are
        confirmed); returns how many were carried out."""
        with self._read() as session:
            due = [
                (e.id, e.state) for e in store.active_executions(session) if e.state != "running"
            ]
        count = 0
        for execution_id, state in due:
            if self._stop.is_set():
                break
            if state == "waiting_isolation" and not self._isolated(execution_id):
                continue
            self.execute(execution_id)
            count += 1
        return count

    def _isolated(self, execution_id: int) -> bool:
        """Whether the crew's isolation of a restore_only plan is done (every isolation
        switch open); ends the execution when its outage is over."""
        with self._read() as session:
            execution = store.execution_of(session, execution_id)
            plan = plan_store.get_plan(session, execution.outage_id)
            ended = outage_store.get_outage(session, execution.outage_id).state not in OPEN_STATES
        if ended:
            with self.context.sessions.begin() as session:
                store.finish_execution(
                    session,
                    execution_id,
                    state="stopped",
                    note=_texts("停电事件已结束", "the outage has ended"),
                    at=self._now(),
                )
            return False
        network = self.context.network
        with self.context.lock:
            closed = self.context.analyser.topology.closed
            return all(
                not closed[e]
                for s in plan["steps"]
                if not s["close"] and (e := network.edge_index(s["device"])) is not None
            )

    def execute(self, execution_id: int) -> None:
        """Carry out one execution to its end (see the module doc)."""
        base_closed = self._closed_now()  # never take context.lock inside a write transaction
        with self.context.sessions.begin() as session:
            execution = store.execution_of(session, execution_id)
            plan = plan_store.get_plan(session, execution.outage_id)
            outage = outage_store.get_outage(session, execution.outage_id)
            if outage.state not in OPEN_STATES or int(plan["revision"]) != execution.revision:
                why = (
                    _texts("停电事件已结束", "the outage has ended")
                    if outage.state not in OPEN_STATES
                    else _texts(
                        f"方案已重新计算（第 {plan['revision']} 版），未执行",
                        f"the plan was recomputed (revision {plan['revision']}); not executed",
                    )
                )
                store.finish_execution(
                    session, execution_id, state="stopped", note=why, at=self._now()
                )
                return
            store.set_execution(session, execution_id, state="running")
            run = _Run(
                execution_id,
                execution.outage_id,
                execution.mode,
                plan,
                base_closed,
                {},
                set(),
            )
        state, note = self._steps(run)
        with self.context.sessions.begin() as session:
            store.finish_execution(session, execution_id, state=state, note=note, at=self._now())
        log.info("outage %s: execution %s %s", run.outage_id, execution_id, state)

    def _closed_now(self) -> np.ndarray:
        with self.context.lock:
            return self.context.analyser.topology.closed.copy()

    def _position(self, run: _Run, edge: int) -> bool:
        if edge in run.done:
            return run.done[edge]
        with self.context.lock:
            return bool(self.context.analyser.topology.closed[edge])

    def _steps(self, run: _Run) -> tuple[str, dict[str, str] | None]:
        network = self.context.network
        i = 0
        while i < len(run.plan["steps"]):
            step = run.plan["steps"][i]
            i += 1
            device, close = str(step["device"]), bool(step["close"])
            edge = network.edge_index(device)
            if edge is None:
                return "failed", _texts(
                    f"第 {step['number']} 步的开关 {device} 不在电网模型中",
                    f"step {step['number']}: {device} is not in the network model",
                )
            if run.mode == "restore_only" and not close:
                continue  # every opening is the crew's (seen done before the execution began)
            if self._position(run, edge) == close:
                self._record_step(run, step, "skipped", "already in position", "开关已在目标位置")
                continue
            ref = self.commander.command_ref(device)
            if not step["remote"] or ref is None:
                why = "by hand on site" if not step["remote"] else "no command address"
                why_zh = "需现场人工操作" if not step["remote"] else "点表中无遥控地址"
                self._record_step(run, step, "manual", why, why_zh)
                return "stopped", self._left_to_crew(run, step, why, why_zh)
            if close:
                refused = self._interlock(run, edge, step)
                if refused is not None:
                    return "stopped", refused
            outcome = self._command(run, step, ref)
            if outcome.ok:
                run.done[edge] = close
                self._settle(edge, close)
                continue
            if close:
                return "failed", _texts(
                    f"第 {step['number']} 步失败：{outcome.reason_zh}；"
                    "其余步骤未执行，请重新计算方案",
                    f"step {step['number']} failed: {outcome.reason}; the rest was not executed: "
                    "recompute the plan",
                )
            widened = self._widen(run, edge, step, outcome)
            if widened is not None:
                return "failed", widened
            i = 0  # the widened plan from its first step (what is done is skipped)
        return "done", None

    def _record_step(
        self, run: _Run, step: Mapping[str, Any], state: str, why: str, why_zh: str
    ) -> None:
        with self.context.sessions.begin() as session:
            execution = store.execution_of(session, run.execution_id)
            store.record_step(
                session,
                execution,
                step=int(step["number"]),
                device=str(step["device"]),
                close=bool(step["close"]),
                state=state,
                reason=why,
                reason_zh=why_zh,
                at=self._now(),
            )

    def _left_to_crew(
        self, run: _Run, step: Mapping[str, Any], why: str, why_zh: str
    ) -> dict[str, str]:
        number = int(step["number"])
        left = [s for s in run.plan["steps"] if int(s["number"]) >= number]
        en = "; ".join(f"{s['number']}. {s['operation']} {s['device']}" for s in left)
        zh = "；".join(
            f"{s['number']}. {'合上' if s['close'] else '拉开'} {s['name']}" for s in left
        )
        return _texts(
            f"第 {number} 步（{step['name']}）{why_zh}：自动执行停止，"
            f"余下步骤按操作票由抢修人员执行：{zh}",
            f"step {number} ({step['device']}) is {why}: automatic execution stopped; the "
            f"crew carries out the rest by the switching order: {en}",
        )

    def _interlock(self, run: _Run, edge: int, step: Mapping[str, Any]) -> dict[str, str] | None:
        """Why closing ``edge`` now is refused (the faulted region energised, two feeders in
        parallel), or None."""
        network = self.context.network
        region = [e for d in run.plan["region"] if (e := network.edge_index(d)) is not None]
        region_nodes = {int(network.edge_from[e]) for e in region} | {
            int(network.edge_to[e]) for e in region
        }
        with self.context.lock:
            change = self.context.analyser.topology.preview([(edge, True)])
        if region_nodes & set(change.regained.tolist()):
            return _texts(
                f"第 {step['number']} 步（合上 {step['name']}）会送电至故障区段，已闭锁，执行停止",
                f"step {step['number']} (close {step['device']}) would energise the faulted "
                "section: refused by the interlock; execution stopped",
            )
        planner = self.context.planners.planner(network, self.context.network_version_id)
        parallel_allowed = planner.settings.limits.allow_parallel
        if not parallel_allowed and any(loop.kind is LoopKind.PARALLEL for loop in change.loops):
            return _texts(
                f"第 {step['number']} 步（合上 {step['name']}）会使两条馈线并列，已闭锁，执行停止",
                f"step {step['number']} (close {step['device']}) would parallel two feeders: "
                "refused by the interlock; execution stopped",
            )
        return None

    def _command(self, run: _Run, step: Mapping[str, Any], ref: CommandRef) -> CommandOutcome:
        device, close = str(step["device"]), bool(step["close"])
        with self.context.sessions.begin() as session:  # the intent, committed before sending
            execution = store.execution_of(session, run.execution_id)
            command_id = store.record_intent(
                session,
                execution,
                step=int(step["number"]),
                device=device,
                close=close,
                unit=ref.unit_id,
                ioa=ref.ioa,
                asdu_type=ref.type_name,
                at=self._now(),
                actor=execution.started_by,
            )
        try:
            outcome = self.commander.operate(device, close)
        except Exception as exc:  # the master itself failed: the step failed, never resent
            from openoms.ingest.iec104 import CommandOutcome, CommandStage  # noqa: PLC0415

            log.exception("outage %s: command to %s failed", run.outage_id, device)
            outcome = CommandOutcome(
                device,
                close,
                ref.unit_id,
                ref.ioa,
                ref.type_name,
                ok=False,
                stage=CommandStage.LINK,
                reason=f"{'close' if close else 'open'} {device}: the master failed "
                f"({type(exc).__name__}: {exc}); whether it was sent is unknown: check the "
                "switch",
                reason_zh=f"{'合上' if close else '拉开'} {device}：主站异常"
                f"（{type(exc).__name__}），命令是否已发出未知，请核对开关位置",
            )
        with self.context.sessions.begin() as session:
            store.record_outcome(
                session,
                command_id,
                ok=outcome.ok,
                stage=outcome.stage.value,
                reason=outcome.reason,
                reason_zh=outcome.reason_zh,
                outcome=outcome.as_dict(),
                at=self._now(),
            )
        if not outcome.ok:
            log.warning("outage %s: %s", run.outage_id, outcome.reason)
        return outcome

    def _settle(self, edge: int, close: bool) -> None:
        """Wait (up to ``settle_s``) for the event processor to show the operation."""
        deadline = time.monotonic() + self.settle_s
        while time.monotonic() < deadline and not self._stop.is_set():
            with self.context.lock:
                if bool(self.context.analyser.topology.closed[edge]) == close:
                    return
            time.sleep(0.02)

    def _widen(
        self, run: _Run, edge: int, step: Mapping[str, Any], outcome: CommandOutcome
    ) -> dict[str, str] | None:
        """A failed opening: replan with the switch failed, on the state the plan was computed
        on; the new plan is the next revision and ``run`` goes on with it. Returns why not
        (a note) when no wider plan can be made."""
        from openoms.service import restoration  # noqa: PLC0415  (it imports this module)

        context = self.context
        network = context.network
        run.failed.add(edge)
        region = [e for d in run.plan["region"] if (e := network.edge_index(d)) is not None]
        try:
            with context.lock:
                planner = context.planners.planner(network, context.network_version_id)
                base = Topology.build(context.analyser.topology.graph, run.base_closed)
                first = planner.plan(base, region, failed=run.failed - {edge})
                widened = planner.replan(base, first, edge)
        except ValueError as exc:
            return _texts(
                f"拉开 {step['name']} 失败（{outcome.reason_zh}），无法扩大隔离范围：{exc}",
                f"opening {step['device']} failed ({outcome.reason}) and no wider isolation "
                f"exists: {exc}",
            )
        document = restoration.widened_document(
            context,
            run.outage_id,
            widened,
            previous=run.plan,
            failed={
                "device": step["device"],
                "name": step["name"],
                "reason": outcome.reason,
                "reason_zh": outcome.reason_zh,
            },
        )
        with context.sessions.begin() as session:
            stored = restoration.store_widened(context, session, run.outage_id, document)
            try:
                store.hold_more(session, run.execution_id, resources_of(stored))
            except store.ExecutionConflictError as exc:
                return _texts(str(exc.details.get("detail_zh", exc)), str(exc))
            store.set_execution(session, run.execution_id, revision=int(stored["revision"]))
        log.warning(
            "outage %s: %s failed to open; isolation widened (plan revision %s)",
            run.outage_id,
            step["device"],
            stored["revision"],
        )
        run.plan = stored
        return None


def _texts(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}
