"""The native network format, declared once.

Every table of the native format (a folder of CSV files, or one JSON document holding the
same tables) is declared here: its fields, their types, units, allowed values and what they
refer to. The parser, the JSON Schema shipped in ``network.schema.json`` and the field list
in ``docs/formats.md`` are all generated from these declarations, so they cannot drift apart.

Ids are the utility's own strings and are unique across the whole network (a switch and a
section may not share an id), so that any device can be named by its id alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

__all__ = [
    "DEFAULT_DETECTION_PROBABILITY",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "TABLES",
    "TABLES_BY_NAME",
    "DetectorKind",
    "Field",
    "FieldType",
    "GeneratorKind",
    "HVImportance",
    "NeutralEarthing",
    "NodeKind",
    "SectionKind",
    "SensitiveCategory",
    "SwitchKind",
    "SwitchState",
    "TableSpec",
    "TelecontrolAsduType",
    "json_schema",
]

FORMAT_NAME: Final = "openoms-network"
FORMAT_VERSION: Final = 1


class FieldType(StrEnum):
    STRING = "string"
    FLOAT = "float"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    REFERENCE = "reference"


class NodeKind(StrEnum):
    BUSBAR = "busbar"
    POLE = "pole"
    JUNCTION = "junction"
    RING_MAIN_UNIT = "ring_main_unit"
    SWITCHING_STATION = "switching_station"
    CUSTOMER_TAP = "customer_tap"


class SectionKind(StrEnum):
    OVERHEAD = "overhead"
    CABLE = "cable"
    TRANSFORMER = "transformer"  # a two-winding transformer as a branch (imported networks)


class SwitchKind(StrEnum):
    BREAKER = "breaker"
    RECLOSER = "recloser"
    LOAD_BREAK_SWITCH = "load_break_switch"
    SECTIONALISER = "sectionaliser"
    FUSE = "fuse"
    DISCONNECTOR = "disconnector"


class SwitchState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"


class DetectorKind(StrEnum):
    FAULT_INDICATOR = "fault_indicator"
    FTU = "ftu"
    DTU = "dtu"
    RELAY = "relay"


class TelecontrolAsduType(StrEnum):
    """How an IEC 60870-5-104 point is transmitted (with or without a CP56Time2a time tag)."""

    SINGLE = "single"  # single-point information: M_SP_NA_1 / M_SP_TB_1
    DOUBLE = "double"  # double-point information: M_DP_NA_1 / M_DP_TB_1 (positions)
    NORMALIZED = "normalized"  # measured value, normalised: M_ME_NA_1 / M_ME_TD_1
    SCALED = "scaled"  # measured value, scaled: M_ME_NB_1 / M_ME_TE_1
    FLOAT = "float"  # measured value, short float: M_ME_NC_1 / M_ME_TF_1


class NeutralEarthing(StrEnum):
    """How the 10 kV system of a substation's busbar is earthed at its neutral."""

    ISOLATED = "isolated"  # 中性点不接地
    PETERSEN_COIL = "petersen_coil"  # 经消弧线圈接地 (arc-suppression coil)
    RESISTANCE = "resistance"  # 经小电阻接地 (earth faults trip)
    SOLID = "solid"  # 直接接地


class GeneratorKind(StrEnum):
    """How a distributed generator feeds fault current (docs/faults.md)."""

    INVERTER = "inverter"  # PV, battery, full-converter wind: current-limited, ~1.1-1.5 x rated
    SYNCHRONOUS = "synchronous"  # small hydro, diesel, biogas: several times rated, sustained
    INDUCTION = "induction"  # asynchronous / doubly-fed machines: large, decays within cycles


DEFAULT_DETECTION_PROBABILITY: Final[dict[str, float]] = {
    GeneratorKind.INVERTER.value: 0.3,
    GeneratorKind.SYNCHRONOUS.value: 0.95,
    GeneratorKind.INDUCTION.value: 0.6,
}
"""Per generator kind: the probability that its fault-current contribution exceeds the fault
indicators' pickup, where the network gives none. Assumptions, not measurements (see
docs/faults.md, "Distributed generation")."""


class HVImportance(StrEnum):
    CLASS_1 = "class_1"  # 一级重要用户
    CLASS_2 = "class_2"  # 二级重要用户
    CLASS_3 = "class_3"  # 临时性重要用户
    NORMAL = "normal"


class SensitiveCategory(StrEnum):
    HOSPITAL = "hospital"
    NURSING_HOME = "nursing_home"
    SCHOOL = "school"
    WATER_WORKS = "water_works"
    LIVESTOCK_FARM = "livestock_farm"
    GOVERNMENT = "government"
    HOME_MEDICAL = "home_medical"  # a household with life-support equipment
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Field:
    """One column of a table."""

    name: str
    type: FieldType
    description: str
    required: bool = False
    unit: str | None = None
    choices: tuple[str, ...] = ()
    references: tuple[str, ...] = ()  # table names an id may refer to
    minimum: float | None = None  # inclusive lower bound
    exclusive_minimum: float | None = None  # exclusive lower bound
    maximum: float | None = None  # inclusive upper bound
    default: str | float | int | bool | None = None


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One table: a CSV file of the folder format, or an array of the JSON document."""

    name: str
    description: str
    fields: tuple[Field, ...]
    required: bool = False

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


def _id(what: str) -> Field:
    return Field(
        "id", FieldType.STRING, f"Utility id of the {what}; unique in the network.", required=True
    )


def _choice(
    name: str,
    enum: type[StrEnum],
    description: str,
    *,
    required: bool = False,
    default: str | None = None,
) -> Field:
    return Field(
        name,
        FieldType.CHOICE,
        description,
        required=required,
        choices=tuple(e.value for e in enum),
        default=default,
    )


def _ref(name: str, tables: tuple[str, ...], description: str, *, required: bool = True) -> Field:
    return Field(name, FieldType.REFERENCE, description, required=required, references=tables)


_NAME = Field("name", FieldType.STRING, "Name shown to people (Chinese or English).")
_VILLAGE = Field("village", FieldType.STRING, "Village (村) the supplied customers live in.")
_STREET = Field("street", FieldType.STRING, "Street or residential area (街道 / 小区), in towns.")
_TOWNSHIP = Field("township", FieldType.STRING, "Township or town (乡镇).")

TABLES: Final[tuple[TableSpec, ...]] = (
    TableSpec(
        "substations",
        "Substations whose 10 kV busbars feed the network; each busbar is a source.",
        (
            _id("substation"),
            _NAME,
            _ref("busbar_node", ("nodes",), "The node that is the substation's 10 kV busbar."),
            Field(
                "voltage_kv",
                FieldType.FLOAT,
                "Nominal voltage of the busbar.",
                unit="kV",
                exclusive_minimum=0.0,
                default=10.0,
            ),
            Field(
                "transformer_mva",
                FieldType.FLOAT,
                "Rated power of the main transformer(s) feeding the busbar, together (N-1 not "
                "considered): restoration plans and the switching preview keep the busbar's "
                "load within it; empty: not known, not checked. The pandapower import sums the "
                "station's transformers.",
                unit="MVA",
                exclusive_minimum=0.0,
            ),
            _choice(
                "neutral_earthing",
                NeutralEarthing,
                "How the busbar's 10 kV system is earthed: in isolated and petersen_coil "
                "systems an earth fault does not trip, and the faulted feeder is selected from "
                "the feeder heads' transient polarity (docs/faults.md, \"Earth faults: "
                'selecting the feeder").',
                default=NeutralEarthing.PETERSEN_COIL.value,
            ),
        ),
        required=True,
    ),
    TableSpec(
        "feeders",
        "10 kV feeders (线路). A feeder starts at its head: the feeder breaker, or the first "
        "section where the source has no modelled breaker.",
        (
            _id("feeder"),
            _NAME,
            _ref("substation", ("substations",), "The substation the feeder leaves from."),
            _ref(
                "head",
                ("switches", "sections"),
                "The feeder breaker (or first section); one end is the substation busbar.",
            ),
        ),
        required=True,
    ),
    TableSpec(
        "nodes",
        "Buses, poles, junctions and ring main units: the places branches meet.",
        (
            _id("node"),
            _NAME,
            _choice("kind", NodeKind, "What the node is.", default=NodeKind.POLE.value),
            Field(
                "lon_deg",
                FieldType.FLOAT,
                "Longitude (WGS 84), for maps.",
                unit="degree",
                minimum=-180.0,
            ),
            Field(
                "lat_deg",
                FieldType.FLOAT,
                "Latitude (WGS 84), for maps.",
                unit="degree",
                minimum=-90.0,
            ),
            _ref(
                "grid_cell",
                ("grid_cells",),
                "Grid cell (网格) responsible for this node.",
                required=False,
            ),
        ),
        required=True,
    ),
    TableSpec(
        "sections",
        "Lines and cables between two nodes (and, in imported networks, transformers).",
        (
            _id("section"),
            _NAME,
            _ref("from_node", ("nodes",), "One end (conventionally the one nearer the source)."),
            _ref("to_node", ("nodes",), "The other end."),
            _choice(
                "kind",
                SectionKind,
                "Overhead line, cable or transformer.",
                default=SectionKind.OVERHEAD.value,
            ),
            Field(
                "length_km", FieldType.FLOAT, "Route length.", unit="km", required=True, minimum=0.0
            ),
            Field(
                "r_ohm_per_km",
                FieldType.FLOAT,
                "Positive-sequence resistance.",
                unit="ohm/km",
                minimum=0.0,
            ),
            Field(
                "x_ohm_per_km",
                FieldType.FLOAT,
                "Positive-sequence reactance.",
                unit="ohm/km",
                minimum=0.0,
            ),
            Field(
                "ampacity_a",
                FieldType.FLOAT,
                "Continuous current rating.",
                unit="A",
                exclusive_minimum=0.0,
            ),
            Field("conductor", FieldType.STRING, "Conductor or cable type, e.g. JKLYJ-240."),
        ),
        required=True,
    ),
    TableSpec(
        "switches",
        "Breakers, reclosers, load-break switches, sectionalisers, fuses and disconnectors. "
        "A normally-open switch between two feeders is a tie switch (联络开关).",
        (
            _id("switch"),
            _NAME,
            _ref("from_node", ("nodes",), "One side."),
            _ref("to_node", ("nodes",), "The other side."),
            _choice("kind", SwitchKind, "Kind of switching device.", required=True),
            _choice(
                "normal_state",
                SwitchState,
                "Position in the normal operating state.",
                required=True,
            ),
            _choice("present_state", SwitchState, "Position now; empty means the normal position."),
            Field(
                "remote",
                FieldType.BOOLEAN,
                "Remotely controllable (has an FTU / DTU).",
                default=False,
            ),
            Field("rated_a", FieldType.FLOAT, "Rated current.", unit="A", exclusive_minimum=0.0),
        ),
    ),
    TableSpec(
        "detectors",
        "Fault indicators, FTUs, DTUs and relays: devices that report fault current through "
        "the branch they watch. Each starts a section for fault location.",
        (
            _id("detector"),
            _NAME,
            _choice("kind", DetectorKind, "Kind of device.", required=True),
            _ref("branch", ("sections", "switches"), "The branch whose current it measures."),
            Field(
                "directional",
                FieldType.BOOLEAN,
                "Reports the direction of fault current.",
                default=False,
            ),
        ),
    ),
    TableSpec(
        "transformer_areas",
        "Distribution transformers and the low-voltage customers behind them (台区). "
        "DL/T 836 counts each as one 10 kV user.",
        (
            _id("transformer area"),
            _NAME,
            _ref("node", ("nodes",), "The node the transformer is connected to."),
            Field(
                "rated_kva",
                FieldType.FLOAT,
                "Transformer rating.",
                unit="kVA",
                required=True,
                exclusive_minimum=0.0,
            ),
            Field(
                "lv_customers",
                FieldType.INTEGER,
                "Low-voltage customers (households).",
                required=True,
                minimum=0,
            ),
            Field(
                "load_kw",
                FieldType.FLOAT,
                "Typical load; empty means rated_kva × 0.3.",
                unit="kW",
                minimum=0.0,
            ),
            _VILLAGE,
            _STREET,
            _TOWNSHIP,
        ),
    ),
    TableSpec(
        "hv_customers",
        "Customers supplied at 10 kV through their own transformer (高压用户 / 专变用户).",
        (
            _id("HV customer"),
            _NAME,
            _ref("node", ("nodes",), "The node the customer is connected to."),
            Field(
                "contracted_kva",
                FieldType.FLOAT,
                "Contracted capacity.",
                unit="kVA",
                required=True,
                exclusive_minimum=0.0,
            ),
            _choice(
                "importance",
                HVImportance,
                "Importance class of the customer.",
                default=HVImportance.NORMAL.value,
            ),
            Field(
                "load_kw",
                FieldType.FLOAT,
                "Typical load; empty means contracted_kva × 0.3.",
                unit="kW",
                minimum=0.0,
            ),
            _VILLAGE,
            _STREET,
            _TOWNSHIP,
        ),
    ),
    TableSpec(
        "sensitive_customers",
        "Customers a dispatcher or planner must see first: hospitals, nursing homes, schools, "
        "water works, livestock farms, households on life support.",
        (
            _id("sensitive customer"),
            _NAME,
            _choice(
                "category", SensitiveCategory, "What kind of sensitive customer.", required=True
            ),
            _ref(
                "supplied_by",
                ("transformer_areas", "hv_customers"),
                "The transformer area or HV customer connection that supplies it.",
            ),
            Field(
                "people",
                FieldType.INTEGER,
                "People who depend on it (residents, patients).",
                minimum=0,
            ),
            Field("note", FieldType.STRING, "Anything the dispatcher should know."),
        ),
    ),
    TableSpec(
        "generators",
        "Distributed generation (分布式电源): PV plants, small hydro, wind, biogas. A generator "
        "feeds fault current from below a fault, so devices between the fault and the "
        'generator may see it (docs/faults.md, "Distributed generation").',
        (
            _id("generator"),
            _NAME,
            _ref("node", ("nodes",), "The node the generator is connected to (its 10 kV point)."),
            _choice("kind", GeneratorKind, "How it feeds fault current.", required=True),
            Field(
                "rated_kw",
                FieldType.FLOAT,
                "Rated active power.",
                unit="kW",
                exclusive_minimum=0.0,
            ),
            Field(
                "detection_probability",
                FieldType.FLOAT,
                "Probability that its fault-current contribution exceeds the fault indicators' "
                "pickup; empty means the kind's default (inverter 0.3, synchronous 0.95, "
                "induction 0.6).",
                minimum=0.0,
                maximum=1.0,
            ),
        ),
    ),
    TableSpec(
        "grid_cells",
        "Grid cells (网格): the area one repair crew and service team are responsible for.",
        (
            _id("grid cell"),
            _NAME,
            Field(
                "crew",
                FieldType.STRING,
                "The repair crew (抢修班) on duty for this cell.",
                required=True,
            ),
        ),
    ),
    TableSpec(
        "telecontrol_units",
        "IEC 60870-5-104 outstations OpenOMS polls as master station (FTU / DTU, indicator "
        "collecting unit, substation RTU). One unit may serve several detectors and switches.",
        (
            _id("telecontrol unit"),
            _NAME,
            Field(
                "host",
                FieldType.STRING,
                "Host name or IP address of the outstation.",
                required=True,
            ),
            Field(
                "port",
                FieldType.INTEGER,
                "TCP port of the outstation.",
                minimum=1,
                maximum=65535,
                default=2404,
            ),
            Field(
                "common_address",
                FieldType.INTEGER,
                "Common address of ASDU (station address) the unit answers to.",
                required=True,
                minimum=0,
                maximum=65535,
            ),
            Field(
                "clock",
                FieldType.STRING,
                "The time zone the unit's clock keeps, in which its CP56Time2a time tags are "
                "read and its clock is set: UTC, or an IANA zone name such as Asia/Shanghai "
                "for an RTU kept on Beijing time by the station's GPS clock.",
                default="UTC",
            ),
            Field(
                "clock_sync",
                FieldType.BOOLEAN,
                "Whether OpenOMS sets the unit's clock (C_CS_NA_1) on every connect; false for "
                "a unit whose clock the main SCADA master owns.",
                default=True,
            ),
        ),
    ),
    TableSpec(
        "telecontrol_points",
        "The point table of each telecontrol unit: which information object address (IOA) "
        "means which point of which detector or switch. Point names are those of the report "
        "point table (docs/events.md) plus the breaker points protection_trip, lockout, "
        "reclose_success and reclose_failure.",
        (
            _ref("unit", ("telecontrol_units",), "The telecontrol unit that sends the point."),
            Field(
                "ioa",
                FieldType.INTEGER,
                "Information object address within the unit.",
                required=True,
                minimum=1,
                maximum=16777215,
            ),
            _choice(
                "asdu_type",
                TelecontrolAsduType,
                "How the point is transmitted: flags as single or double points, numbers as "
                "normalized, scaled or float measured values.",
                required=True,
            ),
            _ref(
                "element",
                ("detectors", "switches"),
                "The detector whose report the point belongs to, or the switch whose position "
                "(switch_closed) or breaker protection the point tells.",
            ),
            Field("point", FieldType.STRING, "Point name, e.g. short_circuit_a.", required=True),
            Field(
                "scale",
                FieldType.FLOAT,
                "Factor from the transmitted value to the point's unit (scaled and normalized "
                "values).",
                default=1.0,
            ),
        ),
    ),
)

TABLES_BY_NAME: Final[dict[str, TableSpec]] = {t.name: t for t in TABLES}


def _field_schema(field: Field) -> dict[str, Any]:
    out: dict[str, Any] = {"description": field.description}
    if field.unit:
        out["description"] += f" Unit: {field.unit}."
    match field.type:
        case FieldType.STRING | FieldType.REFERENCE:
            out["type"] = "string"
            if field.type is FieldType.REFERENCE:
                out["description"] += " Refers to: " + ", ".join(field.references) + "."
                out["minLength"] = 1
        case FieldType.FLOAT:
            out["type"] = "number"
        case FieldType.INTEGER:
            out["type"] = "integer"
        case FieldType.BOOLEAN:
            out["type"] = "boolean"
        case FieldType.CHOICE:
            out["type"] = "string"
            out["enum"] = list(field.choices)
    if field.minimum is not None:
        out["minimum"] = field.minimum
    if field.exclusive_minimum is not None:
        out["exclusiveMinimum"] = field.exclusive_minimum
    if field.maximum is not None:
        out["maximum"] = field.maximum
    if field.default is not None:
        out["default"] = field.default
    if not field.required:
        out = {"anyOf": [out, {"type": "null"}]} | {"description": out["description"]}
    return out


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the one-document form of the native format."""
    properties: dict[str, Any] = {
        "format": {"const": FORMAT_NAME},
        "format_version": {"const": FORMAT_VERSION},
        "name": {"type": "string", "description": "Name of the network."},
    }
    for table in TABLES:
        properties[table.name] = {
            "description": table.description,
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": [f.name for f in table.fields if f.required],
                "properties": {f.name: _field_schema(f) for f in table.fields},
            },
        }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:openoms:network-format:1",
        "title": "OpenOMS network",
        "type": "object",
        "required": ["format", "format_version", *[t.name for t in TABLES if t.required]],
        "additionalProperties": False,
        "properties": properties,
    }
