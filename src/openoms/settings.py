"""Settings: one frozen value, read by :func:`load_settings` from a file and the environment.

Nothing is read at import. Precedence, lowest first: the defaults below, a TOML file (the
``path`` argument, else ``$OPENOMS_CONFIG``, else ``openoms.toml`` in the current folder if it
exists), then environment variables ``OPENOMS_<FIELD>`` (e.g. ``OPENOMS_DATABASE_URL``,
``OPENOMS_MQTT_HOST``). Unknown keys in the file or environment are errors, not ignored.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from openoms.errors import InputError

__all__ = [
    "FLISR_MODES",
    "STATUTORY_NOTICE_DAYS",
    "NoticeRobot",
    "Settings",
    "SettingsError",
    "load_settings",
    "mask_url_password",
    "parse_quiet_hours",
]

_PREFIX = "OPENOMS_"


STATUTORY_NOTICE_DAYS: Final = 7
"""The statutory notice of a planned outage, in days: ``planned_notice_days`` is never less."""


# Automation placement (docs/reliability.md, "Where automation pays off"): the cost of one
# change of each kind, installed, in 10k CNY (万元). PLACEHOLDERS: a utility sets its own.
_AUTOMATION_COSTS: dict[str, float] = {
    "remote_switch": 3.5,  # FTU retrofit of an existing manual switch
    "new_ftu_switch": 8.0,  # a new load-break switch with its FTU on a section
    "recloser": 6.0,  # a fuse or sectionaliser replaced by a recloser
    "tie": 30.0,  # a normally-open remote tie with the line to it
}


class SettingsError(InputError):
    """A bad setting, naming where it came from."""


def _smpp_npi(value: int) -> int:
    if value not in _SMPP_NPIS:
        raise ValueError(f"an SMPP numbering plan is one of {sorted(_SMPP_NPIS)}")
    return value


_SMPP_NPIS: Final = frozenset({0, 1, 3, 4, 6, 8, 9, 10, 14, 18})
SmppNpi = Annotated[int, AfterValidator(_smpp_npi)]
"""An SMPP 3.4 numbering plan indicator (§5.2.6): 0 unknown, 1 ISDN (E.164), 8 national, …"""

FLISR_MODES: Final = ("disabled", "advisory", "automatic", "restore_only")
FLISR_EXECUTING: Final = frozenset({"automatic", "restore_only"})  # send IEC 104 commands


def _flisr_mode(value: str) -> str:
    if value not in FLISR_MODES:
        raise ValueError(f"a FLISR mode is one of {', '.join(FLISR_MODES)}")
    return value


FlisrMode = Annotated[str, AfterValidator(_flisr_mode)]
"""A feeder's FLISR mode: ``disabled``, ``advisory``, ``automatic`` or ``restore_only`` (the
last two send IEC 104 commands: they need ``iec104_enabled``)."""


class NoticeRobot(BaseModel):
    """A group robot that gets every notice (docs/notices.md): WeChat Work, DingTalk or
    Feishu, by its webhook URL and, for DingTalk / Feishu, its signing secret."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    kind: Literal["wecom", "dingtalk", "feishu"]
    url: str = Field(pattern=r"^https?://")
    secret: str = ""
    lang: Literal["zh-CN", "en"] = "zh-CN"


def parse_quiet_hours(value: str) -> tuple[int, int] | None:
    """``"22:00-07:00"`` → (1320, 420) minutes of the local day; empty → None."""
    if not value.strip():
        return None
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", value)
    if match is None:
        raise ValueError("quiet hours are written HH:MM-HH:MM, e.g. 22:00-07:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"{value!r}: hours are 0-23 and minutes 0-59")
    return h1 * 60 + m1, h2 * 60 + m2


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Field(
        default_factory=lambda: (
            Path(os.environ.get("XDG_DATA_HOME", "~/.local/share")).expanduser() / "openoms"
        ),
        description="Folder for the embedded database and other files.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; empty means SQLite at <data_dir>/openoms.db. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/db",
    )
    network: str = Field(
        default="sample:county",
        description="Network loaded on first start: a path or sample:county / sample:ieee33.",
    )
    utility: str = Field(default="demo", description="Utility code in MQTT topics.")
    mqtt_host: str | None = Field(default=None, description="MQTT broker; empty: no MQTT.")
    mqtt_port: int = 1883
    mqtt_client_id: str | None = Field(
        default=None, description="Persistent-session client id; default openoms-<utility>."
    )
    iec104_enabled: bool = Field(
        default=False,
        description="Poll the network's telecontrol units as IEC 60870-5-104 master station.",
    )
    iec104_units: list[str] | None = Field(
        default=None, description="Only these telecontrol unit ids; empty: every unit."
    )
    # select-before-operate commands (docs/restoration.md, "Execution over IEC 104")
    iec104_select_timeout_s: float = Field(
        default=5.0, gt=0, description="Wait this long for the confirmation of a select."
    )
    iec104_execute_timeout_s: float = Field(
        default=5.0, gt=0, description="Wait this long for the confirmation of an execute."
    )
    iec104_feedback_timeout_s: float = Field(
        default=30.0, gt=0, description="Wait this long for the switch's position feedback."
    )
    iec104_termination_timeout_s: float = Field(
        default=2.0, gt=0, description="Wait this long for the activation termination."
    )
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    timezone: str = "Asia/Shanghai"
    # Notice lead time of planned outages (docs/api.md, outages/planned.py).
    planned_notice_days: int = Field(
        default=8,
        description="Days of notice before a planned outage (utility rule; statutory min 7).",
    )
    temporary_notice_hours: float = Field(
        default=24.0,
        gt=0,
        description="Hours of notice to important users before temporary maintenance.",
    )
    # Temporary supply the planner may offer instead of an outage (outages/planned.py).
    mobile_generators: int = Field(
        default=1, ge=0, description="Mobile generators available for one planned outage."
    )
    mobile_generator_kw: float = Field(
        default=400.0, gt=0, description="Rating of one mobile generator, kW."
    )
    planned_start_slack_min: float = Field(
        default=120.0,
        ge=0,
        description="How long before its window a planned outage's switching may start it.",
    )
    sustained_threshold_min: float = Field(
        default=5.0, description="Interruptions longer than this are sustained (IEEE 1366)."
    )
    # Trouble-call analysis (docs/calls.md): the roll-up's model and the call groups.
    call_caller_rate: float = Field(
        default=0.10, gt=0, lt=1, description="q: the share of off customers who call."
    )
    call_false_rate: float = Field(
        default=0.001, gt=0, lt=1, description="ε: the share of on customers who call anyway."
    )
    call_outage_penalty: float = Field(
        default=2.302585,
        ge=0,
        description="λ: what each predicted device must explain beyond its silent customers "
        "(ln 10: prior odds 1:10 for one more device open).",
    )
    call_window_min: float = Field(
        default=30.0, gt=0, description="A call group spans this long from its first call."
    )
    call_probable_min: float = Field(
        default=15.0, gt=0, description="A prediction unconfirmed this long becomes probable."
    )
    call_probable_calls: int = Field(
        default=5, ge=1, description="A prediction explaining this many calls is probable."
    )
    # Reliability statistics (docs/reliability.md); each also a CLI option and API parameter.
    reliability_sustained_operator: Literal[">", ">="] = Field(
        default=">", description="'>': longer than the threshold is sustained; '>=': 5.0 min is."
    )
    reliability_short_interruption_s: float = Field(
        default=180.0, ge=0, description="DL/T 836 leaves out interruptions ≤ this; 0 counts all."
    )
    reliability_med_ddof: int = Field(
        default=1, ge=0, description="ddof of β for major event days (1: sample, n − 1)."
    )
    reliability_med_history_years: int = Field(
        default=5, ge=1, le=50, description="Years of history before the period for T_MED."
    )
    reliability_cemi: list[int] = Field(
        default=[3], min_length=1, description="The n of CEMIn / CEMSMIn (e.g. 1,2,3)."
    )
    reliability_celid_threshold_h: float = Field(
        default=8.0, gt=0, description="CELID: interruptions of at least this many hours."
    )
    reliability_worst_n: int = Field(
        default=10, ge=0, le=1000, description="Length of the worst-served lists."
    )
    reliability_target_saidi_min: float | None = Field(
        default=None, ge=0, description="Report: the SAIDI target (minutes per customer)."
    )
    reliability_target_saifi: float | None = Field(
        default=None, ge=0, description="Report: the SAIFI target (interruptions per customer)."
    )
    reliability_target_rs1_pct: float | None = Field(
        default=None, ge=0, le=100, description="Report: the RS-1 target (%)."
    )
    # What located faults and FLISR saved against patrol-only (reliability.location_savings).
    reliability_patrol_speed_kmh: float = Field(
        default=3.0,
        gt=0,
        description="Patrol-only comparison: a crew's speed walking a 10 kV line (km/h).",
    )
    reliability_patrol_found_fraction: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Patrol-only comparison: the share of the line walked before the fault "
        "is found, on average.",
    )
    reliability_manual_switching_min: float = Field(
        default=60.0,
        ge=0,
        description="Patrol-only comparison: travel to and operation of a manual switch (min).",
    )
    # Automation placement: costs per kind, 10k CNY (万元), placeholders (_AUTOMATION_COSTS).
    reliability_automation_costs: dict[str, float] = Field(
        default_factory=lambda: dict(_AUTOMATION_COSTS),
        description="Cost per candidate kind in 10k CNY (万元); placeholder defaults. A "
        "table naming some kinds keeps the defaults of the others.",
    )
    smpp_host: str | None = Field(
        default=None, description="The carrier's SMSC (SMPP 3.4); empty: no crew SMS."
    )
    smpp_port: int = 2775
    smpp_system_id: str = Field(default="openoms", description="SMPP bind system_id.")
    smpp_password: str = Field(default="", description="SMPP bind password.")
    smpp_source_addr: str = Field(default="", description="Sender number of the crew SMS.")
    smpp_system_type: str = Field(
        default="", max_length=12, description="SMPP bind system_type (the carrier's value)."
    )
    smpp_service_type: str = Field(
        default="", max_length=5, description="submit_sm service_type (empty: SMSC default)."
    )
    smpp_source_ton: int = Field(
        default=0, ge=0, le=6, description="Type of number of the sender (0 unknown, 1 intl)."
    )
    smpp_source_npi: SmppNpi = Field(
        default=0, description="Numbering plan of the sender (0 unknown, 1 ISDN/E.164)."
    )
    smpp_dest_ton: int = Field(
        default=0, ge=0, le=6, description="Type of number of the crew phone (0 unknown, 1 intl)."
    )
    smpp_dest_npi: SmppNpi = Field(
        default=0, description="Numbering plan of the crew phone (0 unknown, 1 ISDN/E.164)."
    )
    smpp_long_message: Literal["payload", "udh8", "udh16", "sar"] = Field(
        default="payload",
        description="Long SMS: message_payload TLV (UDH segments if refused), or segments with "
        "an 8-bit / 16-bit UDH reference, or sar_* TLVs.",
    )
    smpp_bind_backoff_s: float = Field(
        default=1.0, gt=0, description="First wait after a failed bind; doubles each failure."
    )
    smpp_bind_backoff_max_s: float = Field(
        default=300.0, gt=0, description="Longest wait between two bind attempts."
    )
    smpp_throttle_delay_s: float = Field(
        default=1.0, gt=0, description="First pause after ESME_RTHROTTLED; doubles while throttled."
    )
    smpp_throttle_max_s: float = Field(
        default=30.0, gt=0, description="Longest pause between PDUs while throttled."
    )
    # The SMS protocol (docs/notify.md): SMPP 3.4 (smpp_*) or CMPP 3.0 to a mainland ISMG.
    sms_protocol: Literal["smpp", "cmpp"] = Field(
        default="smpp", description="SMS protocol: smpp (smpp_* settings) or cmpp (cmpp_*)."
    )
    cmpp_host: str | None = Field(
        default=None, description="The carrier's ISMG (CMPP 3.0), used when sms_protocol=cmpp."
    )
    cmpp_port: int = Field(default=7890, description="ISMG port (7890 is the usual one).")
    cmpp_source_addr: str = Field(
        default="", max_length=6, description="SP enterprise code (Source_Addr, Msg_src)."
    )
    cmpp_shared_secret: str = Field(default="", description="CMPP shared secret (CONNECT).")
    cmpp_service_id: str = Field(
        default="", max_length=10, description="CMPP_SUBMIT Service_Id (业务代码)."
    )
    cmpp_src_id: str = Field(
        default="", max_length=21, description="CMPP_SUBMIT Src_Id: the SP number customers see."
    )
    cmpp_msg_fmt: Literal["ucs2", "gbk"] = Field(
        default="ucs2", description="Msg_Fmt of the texts: ucs2 (8) or gbk (15)."
    )
    cmpp_window: int = Field(
        default=16, ge=1, le=64, description="Most CMPP_SUBMITs waiting for their answer."
    )
    cmpp_max_per_s: float | None = Field(
        default=None, gt=0, description="Most CMPP_SUBMITs per second (the contract's rate)."
    )
    cmpp_backoff_s: float = Field(
        default=1.0, gt=0, description="First wait after a failed CONNECT; doubles each failure."
    )
    cmpp_backoff_max_s: float = Field(
        default=300.0, gt=0, description="Longest wait between two CONNECT attempts."
    )
    sms_receipt_timeout_s: float = Field(
        default=600.0,
        gt=0,
        description="A sent SMS without a delivery receipt this long after the hand-over is "
        "shown as unconfirmed.",
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8080",
        description="Base URL of the public site; the SMS links to <base>/outages/<id>.",
    )
    sms_lang: Literal["zh", "en"] = Field(default="zh", description="Language of the crew SMS.")
    public_map_tiles_url: str | None = Field(
        default=None,
        description="Tile URL template of the public page's map background "
        "(https://…/{z}/{x}/{y}.png); none: the network is drawn on a plain background.",
    )
    public_map_tiles_attribution: str = Field(
        default="", description="Attribution the tile server's licence asks for (plain text)."
    )
    # Public forms (docs/public.md): lookups, fault reports and subscriptions per client.
    public_lookups_per_minute: int = Field(
        default=20, ge=1, le=10_000, description="Supply lookups per client address a minute."
    )
    public_forms_per_minute: int = Field(
        default=5,
        ge=1,
        le=10_000,
        description="Fault reports and subscription changes per client address a minute.",
    )
    # Operator console (docs/console.md): its live stream of changes.
    console_max_streams: int = Field(
        default=32, ge=1, le=1000, description="Console live streams open at once; more: 503."
    )
    console_poll_s: float = Field(
        default=0.5, gt=0, le=10, description="How often a console stream looks for changes."
    )
    console_heartbeat_s: float = Field(
        default=15.0, gt=0, le=300, description="A comment line this often on a quiet stream."
    )
    # Fault location (docs/faults.md): the grouping window around the trip, by device time.
    fault_window_before_s: float = Field(
        default=2.0, ge=0, description="Reports this long before the trip belong to the fault."
    )
    fault_window_after_s: float = Field(
        default=5.0, ge=0, description="Reports this long after the trip belong to the fault."
    )
    fault_lockout_window_s: float = Field(
        default=60.0,
        gt=0,
        description="A lockout this long after the first trip is the same fault.",
    )
    fault_quiet_s: float = Field(
        default=0.5,
        ge=0,
        description="Send the crew SMS once no report has arrived for this long after a lockout.",
    )
    fault_final_s: float = Field(
        default=60.0, gt=0, description="Late reports refine the location until this long."
    )
    fault_max_faults: int = Field(
        default=1,
        ge=1,
        le=5,
        description="Look for up to this many simultaneous faults per feeder (tree DP).",
    )
    # FLISR (docs/restoration.md, "In the running service"): what the service does after a
    # permanent fault, for every feeder and per feeder.
    flisr_mode: FlisrMode = Field(
        default="advisory",
        description="disabled: no plan; advisory: a restoration plan for the dispatcher to "
        "approve (executed over IEC 104 once approved when iec104_enabled); automatic: "
        "planned and executed over IEC 104; restore_only: the crew isolates, the "
        "restoration steps are executed over IEC 104 once the isolation is confirmed.",
    )
    flisr_modes: dict[str, FlisrMode] = Field(
        default_factory=dict,
        description='Per-feeder FLISR mode overriding flisr_mode, e.g. {"CG-F01" = "disabled"}.',
    )
    heartbeat_indicator_s: float = Field(
        default=3600.0, gt=0, description="An indicator heard from this recently is online."
    )
    heartbeat_terminal_s: float = Field(
        default=86400.0, gt=0, description="An FTU / DTU heard from this recently is online."
    )
    telemetry_sample_s: float = Field(
        default=60.0,
        ge=1,
        le=86400,
        description="Telemetry history: at most one row per point per this many seconds "
        "(the latest value is always kept).",
    )
    # Load limits (docs/operations.md): what the HTTP API admits, and the database pools.
    http_max_in_flight: int = Field(
        default=16,
        ge=1,
        le=512,
        description="HTTP requests worked on at once; more wait in the queue below.",
    )
    http_max_queued: int = Field(
        default=64,
        ge=0,
        le=100_000,
        description="HTTP requests that may wait for a slot; beyond, 503 with Retry-After at once.",
    )
    http_queue_timeout_s: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="How long a request waits for a slot before it is answered 503.",
    )
    http_retry_after_s: int = Field(
        default=1, ge=1, le=3600, description="Retry-After of a 503 (saturated, database busy)."
    )
    http_max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        le=1024**3,
        description="Largest request body; a larger one is answered 413.",
    )
    http_body_timeout_s: float = Field(
        default=10.0, gt=0, le=600, description="Time to receive a request body, else 408."
    )
    http_max_batch_events: int = Field(
        default=1000,
        ge=1,
        le=1000,
        description="Most events in one POST /events/batch; more is answered 413.",
    )
    db_http_pool_size: int = Field(
        default=16, ge=1, le=500, description="Database connections of the HTTP API."
    )
    db_ingest_pool_size: int = Field(
        default=2,
        ge=1,
        le=100,
        description="Database connections of MQTT / IEC 104 ingest (never used by HTTP).",
    )
    db_worker_pool_size: int = Field(
        default=4,
        ge=1,
        le=100,
        description="Database connections of the event processor, alerts and the SMS outbox.",
    )
    db_pool_timeout_s: float = Field(
        default=5.0, gt=0, le=300, description="Longest wait for a pooled connection."
    )
    db_statement_timeout_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="PostgreSQL: a statement running longer is cancelled (HTTP: 503).",
    )
    db_busy_timeout_s: float = Field(
        default=10.0, ge=0, le=600, description="SQLite: longest wait for the write lock."
    )
    # Customer notices (docs/notices.md): channels, signature, quiet hours, rate limits.
    notice_signature_zh: str = Field(
        default="供电公司", description="Signature of notices in Chinese (the SMS 【…】 too)."
    )
    notice_signature_en: str = Field(
        default="Power Supply Company", description="Signature of notices in English."
    )
    notice_hotline: str = Field(default="95598", description="Service hotline named in notices.")
    notice_quiet_hours: str = Field(
        default="22:00-07:00",
        description="Local hours (HH:MM-HH:MM) in which notice SMS to customers wait, except "
        "to sensitive customers; empty: no quiet hours.",
    )
    notice_hold_s: float = Field(
        default=60.0,
        ge=0,
        le=86400,
        description="Planned / temporary notices wait this long before they go, so that "
        "bookings saved together merge into one message (fault notices go at once).",
    )
    notice_sms_per_minute: int = Field(
        default=300, ge=1, description="Most notice SMS handed to the outbox per minute."
    )
    notice_email_per_minute: int = Field(
        default=300, ge=1, description="Most notice e-mails sent per minute."
    )
    notice_robot_per_minute: int = Field(
        default=20,
        ge=1,
        description="Most messages per minute to each kind of group robot (WeCom allows 20).",
    )
    notice_fault_outages: bool = Field(
        default=True,
        description="Tell the customers of fault outages (a probable or confirmed trouble-call "
        "prediction, a device outage) through the notice engine.",
    )
    notice_daily_cap: int | None = Field(
        default=None,
        ge=1,
        description="Most notice messages per customer and channel (SMS, e-mail) per local "
        "day; the rest wait for the next day, except to sensitive customers. None: no cap.",
    )
    notice_max_attempts: int = Field(
        default=6, ge=1, le=50, description="Attempts per notice delivery before it fails."
    )
    notice_media_langs: list[Literal["zh-CN", "en"]] = Field(
        default=["zh-CN"], description="Languages of the Weibo / TV / radio texts of the feed."
    )
    notice_robots: list[NoticeRobot] = Field(
        default_factory=list,
        description="Group robots that get each notice: [[notice_robots]] tables with name, "
        "kind (wecom / dingtalk / feishu), url, secret, lang.",
    )
    smtp_host: str | None = Field(default=None, description="SMTP server; empty: no e-mail.")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_sender: str = Field(default="openoms@localhost", description="From of notice e-mails.")
    smtp_starttls: bool = Field(default=False, description="Use STARTTLS with the server.")
    smtp_username: str = Field(default="", description="SMTP login; empty: none.")
    smtp_password: str = Field(default="", description="SMTP password.")

    @field_validator("reliability_cemi", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        """``1,2,3`` (an environment variable) as the list [1, 2, 3]."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("reliability_automation_costs")
    @classmethod
    def _automation_costs(cls, value: dict[str, float]) -> dict[str, float]:
        """Known kinds (reliability/placement.py KINDS), each a cost > 0; the defaults of
        the kinds not named."""
        for kind, cost in value.items():
            if kind not in _AUTOMATION_COSTS:
                known = ", ".join(_AUTOMATION_COSTS)
                raise ValueError(f"unknown kind {kind!r} (known: {known})")
            if not cost > 0 or cost == float("inf"):
                raise ValueError(f"{kind}: the cost must be a number > 0, got {cost!r}")
        return {**_AUTOMATION_COSTS, **value}

    @field_validator("notice_quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        parse_quiet_hours(value)
        return value

    def flisr_mode_of(self, feeder_id: str) -> str:
        """The FLISR mode of ``feeder_id``: its own in ``flisr_modes``, else ``flisr_mode``."""
        return self.flisr_modes.get(feeder_id, self.flisr_mode)

    @model_validator(mode="after")
    def _executing_needs_iec104(self) -> Settings:
        """automatic / restore_only send IEC 104 commands: refused without the master."""
        executing = (
            [f"flisr_mode = {self.flisr_mode}"] if self.flisr_mode in FLISR_EXECUTING else []
        )
        executing += [
            f"flisr_modes.{feeder} = {mode}"
            for feeder, mode in sorted(self.flisr_modes.items())
            if mode in FLISR_EXECUTING
        ]
        if executing and not self.iec104_enabled:
            raise ValueError(
                f"{', '.join(executing)}: OpenOMS executes these plans by sending IEC 104 "
                "commands, but iec104_enabled is false; enable the IEC 104 master or use "
                "'advisory'"
            )
        return self

    @field_validator("planned_notice_days")
    @classmethod
    def _statutory_notice(cls, value: int) -> int:
        """Never below the statutory 7 days of notice."""
        if value < STATUTORY_NOTICE_DAYS:
            raise ValueError(
                f"planned_notice_days is {value}, below the statutory minimum of "
                f"{STATUTORY_NOTICE_DAYS} days of notice before a planned outage"
            )
        return value

    @field_validator("flisr_modes", mode="before")
    @classmethod
    def _feeder_modes(cls, value: Any) -> Any:
        """``CG-F01=advisory,BS-F05=disabled`` (an environment variable) as a table."""
        if isinstance(value, str):
            pairs = [part.split("=", 1) for part in value.split(",") if part.strip()]
            if any(len(pair) != 2 for pair in pairs):
                raise ValueError("per-feeder modes are written FEEDER=MODE,FEEDER=MODE")
            return {feeder.strip(): mode.strip() for feeder, mode in pairs}
        return value

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'openoms.db'}"

    @property
    def shown_database_url(self) -> str:
        """The database URL as it may be printed or logged: any password replaced by ***."""
        return mask_url_password(self.resolved_database_url)

    @property
    def resolved_mqtt_client_id(self) -> str:
        return self.mqtt_client_id or f"openoms-{self.utility}"


def mask_url_password(url: str) -> str:
    """``postgresql://u:secret@h/db`` → ``postgresql://u:***@h/db``; URLs without one unchanged."""
    return re.sub(r"(//[^/@:]*):[^/@]*@", r"\1:***@", url)


def _from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(_PREFIX) or key == f"{_PREFIX}CONFIG":
            continue
        name = key[len(_PREFIX) :].lower()
        if name not in Settings.model_fields:
            raise SettingsError(f"environment variable {key}: no such setting")
        values[name] = value if value != "" else None
    return values


def load_settings(
    path: Path | None = None, *, environ: Mapping[str, str] | None = None
) -> Settings:
    """Defaults, then the TOML file, then ``OPENOMS_*`` variables."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    source = "defaults"
    config = path or (Path(env[f"{_PREFIX}CONFIG"]) if env.get(f"{_PREFIX}CONFIG") else None)
    if config is None and Path("openoms.toml").is_file():
        config = Path("openoms.toml")
    if config is not None:
        try:
            values.update(tomllib.loads(config.read_text(encoding="utf-8")))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"{config}: {exc}") from exc
        except UnicodeDecodeError as exc:  # a TOML file is UTF-8
            raise SettingsError(f"{config}: not UTF-8 text (byte {exc.start})") from exc
        except RecursionError as exc:
            raise SettingsError(f"{config}: not valid TOML: nested too deeply") from exc
        source = str(config)
    values.update(_from_environment(env))
    if values.get("data_dir") is None:
        values["data_dir"] = Path(env.get("XDG_DATA_HOME") or "~/.local/share").expanduser() / (
            "openoms"
        )
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise SettingsError(f"settings from {source} and the environment: {problems}") from exc
