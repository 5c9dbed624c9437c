"""A seeded generator of a synthetic Chinese county 10 kV distribution network.

:func:`generate_county` builds the kind of network a county power supply company runs (the
setting of the newspaper page in ``seed/``): a few 110/10 kV substations, 20-odd radial
feeders with overhead trunks of insulated aluminium conductor, cable exits through ring main
units in the county town, branch lines with fuses or switches at their heads, sectionalising
and tie switches, reclosers on long rural feeders, fault indicators, FTUs, DTUs and relays,
about a thousand transformer areas (台区) in named villages and town streets, HV customers,
sensitive customers and the grid cells (网格) of the repair crews. Every name is made up;
nothing is real data.

The result is a :class:`~.records.RawNetwork` whose rows use exactly the field names of
:mod:`.schema`, ready for :func:`~.native.write_csv_folder` or the validator. Its normal state
is radial: each feeder is a tree from its breaker, and every tie switch is normally open.

The same arguments give the same network: all randomness is drawn from
:meth:`random.Random.random`, the one method whose sequence Python guarantees across versions,
and the few array steps (k-means, nearest neighbours) are deterministic. (Coordinates go
through the C library's sine and cosine, so another platform could in principle differ in a
last digit; a test compares the shipped files with a fresh generation.)

Cost is linear in the size of the network: the default county (24 feeders, about 4,300
sections, 1,300 transformer areas) takes a fraction of a second; ``substations=40,
feeders_per_substation=12`` (480 feeders, about 90,000 sections) two to five seconds.

Regenerate the bundled files with::

    python -m openoms.grid.generate --out src/openoms/data/sample_county
    python -m openoms.grid.generate --network ieee33 --out src/openoms/data/ieee33
"""

from __future__ import annotations

import argparse
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from openoms.grid.native import write_csv_folder, write_json_document
from openoms.grid.records import Location, RawNetwork
from openoms.grid.schema import (
    DetectorKind,
    HVImportance,
    NodeKind,
    SectionKind,
    SensitiveCategory,
    SwitchKind,
    SwitchState,
)

__all__ = ["DEFAULT_SEED", "CountyOptions", "generate_county", "main"]

DEFAULT_SEED: Final = 20261128
_T = TypeVar("_T")
_Row = dict[str, Any]
_Points = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class CountyOptions:
    """Settings of :func:`generate_county` besides the seed and the size.

    ``width_km`` × ``height_km`` is the area for three substations; it grows in proportion to
    the number of substations, so that the density of lines stays the same at any size. Lines
    stop at the county's edge.
    """

    center_lon_deg: float = 113.2
    center_lat_deg: float = 35.2
    width_km: float = 40.0
    height_km: float = 30.0
    townships: int | None = None  # None: four per substation
    grid_cells: int | None = None  # None: ten per three substations
    town_radius_km: float = 3.0  # the county town (城关) around the centre has streets
    town_trunk_km: tuple[float, float] = (5.0, 9.0)
    rural_trunk_km: tuple[float, float] = (6.0, 14.0)
    recloser_min_trunk_km: float = 10.0  # rural trunks this long get a recloser mid-way
    hv_customers_per_feeder: tuple[int, int] = (2, 5)


# --- equipment -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Conductor:
    name: str
    kind: str  # SectionKind value
    r_ohm_per_km: float
    x_ohm_per_km: float
    ampacity_a: float


# Insulated overhead aluminium (JKLYJ-10) and XLPE copper cable (YJV22-8.7/15): DC resistance at
# 20 °C, a typical 10 kV reactance for the usual spacing, continuous rating in air / in ground.
_OVERHEAD, _CABLE = SectionKind.OVERHEAD.value, SectionKind.CABLE.value
_JKLYJ_240 = _Conductor("JKLYJ-240", _OVERHEAD, 0.125, 0.335, 480.0)
_JKLYJ_150 = _Conductor("JKLYJ-150", _OVERHEAD, 0.206, 0.345, 380.0)
_JKLYJ_95 = _Conductor("JKLYJ-95", _OVERHEAD, 0.320, 0.358, 290.0)
_JKLYJ_70 = _Conductor("JKLYJ-70", _OVERHEAD, 0.443, 0.368, 240.0)
_YJV22_300 = _Conductor("YJV22-3×300", _CABLE, 0.0601, 0.090, 520.0)
_YJV22_70 = _Conductor("YJV22-3×70", _CABLE, 0.268, 0.110, 230.0)

_SPAN_KM: Final = 0.055  # between two poles; a section aggregates 2–7 spans (100–400 m)
_RURAL_KVA: Final = ((50, 0.04), (100, 0.22), (200, 0.36), (315, 0.26), (400, 0.12))
_TOWN_KVA: Final = ((200, 0.10), (315, 0.30), (400, 0.30), (500, 0.10), (630, 0.20))
_HV_KVA: Final = (315, 400, 500, 630, 800, 1000, 1250, 1600, 2000, 2500, 3150, 4000)
_FUSE_A: Final = 100.0
_CABINETS: Final = {NodeKind.RING_MAIN_UNIT.value, NodeKind.SWITCHING_STATION.value}
_DISCONNECTOR_A: Final = 400.0
_SWITCH_A: Final = 630.0

# --- names -----------------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_NUMERALS: Final = "ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩⅪⅫ"
_DIGITS: Final = "一二三四五六七八九十"
# Township stems with pinyin initials: three fixed ones, then two-syllable combinations.
_FIXED_STEMS: Final = (("城关", "CG"), ("柏山", "BS"), ("宁郭", "NG"))
_STEM_FIRST: Final = _words(
    "青Q 白B 金J 石S 龙L 凤F 双S 三S 五W 清Q 杏X 桃T 沙S 太T 永Y "
    "长C 新X 红H 丰F 杨Y 古G 黄H 马M 柳L 松S 梅M 兰L 竹Z 安A 仁R"
)
_STEM_SECOND: Final = _words("山S 河H 岭L 湖H 岗G 桥Q 庄Z 园Y 泉Q 店D 集J 坡P 湾W 营Y 林L 川C")
_SURNAMES: Final = (
    "李王张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚"
    "邵万钱严武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷申耿关兰焦俞左柳甘祝"
    "包宁尚舒柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆路游辛靳管柴鲍华喻祁房滕屈饶解牟艾尤时穆司"
    "卓古吉车项连娄窦景党宫费卜冷晏席卫米柏宗桂全应臧闵边卞姬师仇栾商沙荣寇桑郎甄丛仲虞巩明苑"
)
_VILLAGE_SUFFIXES: Final = "庄村屯营寨楼集店堡岗湾寺桥"  # 李庄, 张寨
_FAMILY_SUFFIXES: Final = "庄屯营寨湾沟"  # 李家庄, 王家营
_PREFIXES: Final = "东西南北前后大小上下"  # 东王庄, 小李村
_PREFIX_SUFFIXES: Final = "庄村营寨屯"
_STREETS: Final = _words(
    "人民路 建设路 解放路 文化路 民主路 新华路 中山路 胜利路 和平路 健康路 工业路 迎宾大道 "
    "朝阳路 光明路 东风路 友谊路 团结路 育才路 振兴路 滨河路 老城街 南关街 北关街 商贸城 "
    "幸福小区 锦绣花园 阳光小区 康乐小区 翠苑小区 金桂园小区 书香名邸 世纪花园 丽景小区 怡和苑"
)
_COMPANIES: Final = _words(
    "宏达 鑫源 恒通 瑞丰 金鼎 永兴 华盛 天元 顺发 博远 豫丰 德润 利民 新亚 兴隆 通达 "
    "佳禾 丰泽 隆盛 嘉禾 康达 昌盛 万通 金源 泰和 盛源 海川 众诚 中兴 弘业 鼎盛 远航"
)
_INDUSTRIES: Final = _words(
    "机械厂 面粉厂 建材有限公司 纸业有限公司 钢构有限公司 纺织有限公司 食品有限公司 "
    "混凝土搅拌站 铸造厂 塑料制品厂 木业有限公司 农机厂"
)
_ANIMAL_FARMS: Final = ("养猪场", "养鸡场", "奶牛场")


@dataclass(frozen=True, slots=True)
class _HVKind:
    """A kind of HV customer: name pattern ({village} {company} {industry} {township})."""

    pattern: str
    kva: tuple[int, int]  # index range into _HV_KVA
    weight: float
    rural: bool = True  # only outside the county town
    sensitive: SensitiveCategory | None = None
    note: str | None = None


_HV_KINDS: Final = (
    _HVKind("{company}{industry}", (0, 9), 5.0, rural=False),
    _HVKind("{village}石料厂", (3, 8), 1.2),
    _HVKind("{village}提灌站", (0, 4), 1.5),
    _HVKind("{village}砖厂", (0, 3), 0.8),
    _HVKind("{township}{company}冷库", (0, 6), 0.8),
    _HVKind("{company}化工有限公司", (5, 11), 0.4),
    _HVKind(
        "{village}{company}养殖有限公司",
        (0, 4),
        0.5,
        sensitive=SensitiveCategory.LIVESTOCK_FARM,
        note="规模化养殖，通风、供水、保温不能长时间停电",
    ),
)


@dataclass(frozen=True, slots=True)
class _Special:
    """A named HV customer of the county town that is sensitive, important or both."""

    name: str
    kva: int
    importance: HVImportance
    category: SensitiveCategory
    people: int | None
    note: str


_TOWN_SPECIALS: Final = (
    _Special("县人民医院", 2500, HVImportance.CLASS_1, SensitiveCategory.HOSPITAL, 820,
             "手术室、ICU，自备发电机"),
    _Special("县中医院", 1250, HVImportance.CLASS_2, SensitiveCategory.HOSPITAL, 360,
             "住院病人，手术室"),
    _Special("县自来水厂", 1600, HVImportance.CLASS_2, SensitiveCategory.WATER_WORKS, None,
             "供城区居民饮水"),
    _Special("县第一高级中学", 800, HVImportance.CLASS_3, SensitiveCategory.SCHOOL, 3400,
             "寄宿学校；高考、中考期间为临时重要用户"),
    _Special("县人民政府", 630, HVImportance.CLASS_2, SensitiveCategory.GOVERNMENT, None,
             "应急指挥中心"),
)  # fmt: skip  # a table reads better aligned


@dataclass(frozen=True, slots=True)
class _Facility:
    """A kind of sensitive customer behind a transformer area, ``count`` per 24 feeders."""

    suffix: str  # after the township or village name
    category: SensitiveCategory
    people: tuple[int, int] | None
    note: str | None
    count: int


_TOWNSHIP_FACILITIES: Final = (
    _Facility("敬老院", SensitiveCategory.NURSING_HOME, (18, 80), "集中供养老人", 4),
    _Facility("卫生院", SensitiveCategory.HOSPITAL, (30, 90), "住院病人", 6),
    _Facility("中心学校", SensitiveCategory.SCHOOL, (600, 1500), "寄宿学生", 5),
)
_VILLAGE_FACILITIES: Final = (
    _Facility("小学", SensitiveCategory.SCHOOL, (150, 500), None, 3),
    _Facility("集中供水站", SensitiveCategory.WATER_WORKS, None,
              "农村集中供水，停电超过4小时需送水", 2),
    _Facility("{farm}", SensitiveCategory.LIVESTOCK_FARM, None, "通风、供水不能长时间停电", 2),
    _Facility("居民户（居家医疗设备）", SensitiveCategory.HOME_MEDICAL, (1, 1),
              "家用呼吸机，停电前须电话通知家属", 1),
)  # fmt: skip  # a table reads better aligned
_NURSING_HOME_PEOPLE: Final = 96  # the nursing home of the seed story (live-line work, 2022)

# --- random draws ----------------------------------------------------------------------------


class _Draw:
    """Draws built only on ``random.Random.random``, whose sequence Python guarantees."""

    __slots__ = ("random",)

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed).random

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def integer(self, low: int, high: int) -> int:
        """An integer in ``[low, high]``."""
        return low + min(int(self.random() * (high - low + 1)), high - low)

    def chance(self, p: float) -> bool:
        return self.random() < p

    def side(self) -> float:
        return 1.0 if self.random() < 0.5 else -1.0

    def choice(self, items: Sequence[_T]) -> _T:
        return items[min(int(self.random() * len(items)), len(items) - 1)]

    def weighted(self, items: Sequence[tuple[_T, float]]) -> _T:
        point = self.random() * sum(w for _, w in items)
        for item, w in items:
            point -= w
            if point < 0:
                return item
        return items[-1][0]

    def shuffle(self, items: list[_T]) -> None:
        for i in range(len(items) - 1, 0, -1):
            j = self.integer(0, i)
            items[i], items[j] = items[j], items[i]


# --- the county being built ------------------------------------------------------------------


@dataclass(slots=True)
class _Feeder:
    index: int
    id: str
    name: str
    substation: int
    bearing: float
    town: bool  # leaves the county-town substation
    counts: dict[str, int] = field(default_factory=dict)
    trunk_end: int = -1
    line_nodes: list[int] = field(default_factory=list)  # poles that may take loads
    tie_nodes: list[int] = field(default_factory=list)  # poles of the trunk and main branches
    branch_ends: list[int] = field(default_factory=list)  # ends of the main branches

    def bump(self, kind: str) -> int:
        n = self.counts.get(kind, 0) + 1
        self.counts[kind] = n
        return n

    def next_id(self, kind: str, width: int) -> str:
        return f"{self.id}-{kind}{self.bump(kind):0{width}d}"


@dataclass(slots=True)
class _Village:
    stem: str  # 李庄, 王家营, 席村: the name without the 村 added to it
    x_sum: float = 0.0
    y_sum: float = 0.0
    areas: int = 0
    township: int = -1

    @property
    def name(self) -> str:
        return self.stem if self.stem.endswith("村") else self.stem + "村"

    @property
    def center(self) -> tuple[float, float]:
        return self.x_sum / self.areas, self.y_sum / self.areas


@dataclass(slots=True)
class _Walk:
    """Where a line being drawn has got to."""

    node: int
    x: float
    y: float
    heading: float
    pole: int = 1
    km: float = 0.0


class _County:
    """Builds one county; :meth:`build` returns it. Lists are the columns of the tables.

    Element names hang on their line (``城关Ⅲ线李庄支线`` + ``#12``), and a branch is named
    after the first village on it, so names are resolved in :meth:`emit`.
    """

    def __init__(
        self, seed: int, substations: int, feeders_per_substation: int, options: CountyOptions
    ) -> None:
        if substations < 1 or feeders_per_substation < 1:
            raise ValueError("substations and feeders_per_substation must be at least 1")
        self.seed = seed
        self.draw = _Draw(seed)
        self.opt = options
        self.n_substations = substations
        self.n_per_substation = feeders_per_substation
        scale = math.sqrt(substations / 3.0)
        self.width_km = options.width_km * scale
        self.height_km = options.height_km * scale
        self.n_townships = options.townships or 4 * substations
        self.n_cells = options.grid_cells or max(2, round(10 * substations / 3))
        if self.n_townships < substations or not 2 <= self.n_cells <= self.n_townships + 1:
            raise ValueError("need substations ≤ townships and 2 ≤ grid_cells ≤ townships + 1")
        self.stems: list[str] = []
        self.township_names: list[str] = []
        self.township_xy: list[tuple[float, float]] = []
        self.sub_ids: list[str] = []
        self.sub_names: list[str] = []
        self.sub_busbars: list[int] = []
        self.feeders: list[_Feeder] = []
        # lines: trunk (parent -1), tie line (-2), branch or sub-branch (parent line)
        self.line_feeder: list[int] = []
        self.line_parent: list[int] = []
        self.line_at: list[int] = []  # the node it leaves from
        self.line_name: list[str] = []
        self.line_number: list[int] = []
        self.node_id: list[str] = []
        self.node_feeder: list[int] = []  # -1 for a substation busbar
        self.node_line: list[int] = []  # -1: the label is the whole name
        self.node_label: list[str] = []
        self.node_kind: list[str] = []
        self.node_x: list[float] = []
        self.node_y: list[float] = []
        self.sections: list[tuple[_Row, int, str]] = []  # row, line, label
        self.switches: list[tuple[_Row, int, str]] = []
        self.detectors: list[tuple[_Row, int, str]] = []
        self.areas: list[_Row] = []
        self.area_village: list[int] = []  # -1 in the county town
        self.area_node: list[int] = []
        self.hv: list[_Row] = []
        self.sensitive: list[_Row] = []
        self.villages: list[_Village] = []
        self.village_names: set[str] = set()
        self.hv_names: set[str] = set()
        self.street_areas: dict[str, int] = {}

    # -- elements -----------------------------------------------------------------------------

    def node(
        self,
        fi: int,
        line: int,
        label: str,
        x: float,
        y: float,
        *,
        kind: NodeKind = NodeKind.POLE,
        node_id: str | None = None,
    ) -> int:
        self.node_id.append(node_id or self.feeders[fi].next_id("N", 4))
        self.node_feeder.append(fi)
        self.node_line.append(line)
        self.node_label.append(label)
        self.node_kind.append(kind.value)
        self.node_x.append(x)
        self.node_y.append(y)
        return len(self.node_id) - 1

    def section(
        self, line: int, label: str, ends: tuple[int, int], km: float, conductor: _Conductor
    ) -> str:
        a, b = ends
        section_id = self.feeders[self.node_feeder[b]].next_id("S", 4)
        row = {
            "id": section_id,
            "name": None,  # in emit()
            "from_node": self.node_id[a],
            "to_node": self.node_id[b],
            "kind": conductor.kind,
            "length_km": round(max(km, 0.01), 3),
            "r_ohm_per_km": conductor.r_ohm_per_km,
            "x_ohm_per_km": conductor.x_ohm_per_km,
            "ampacity_a": conductor.ampacity_a,
            "conductor": conductor.name,
        }
        self.sections.append((row, line, label))
        return section_id

    def switch(
        self,
        line: int,
        label: str,
        ends: tuple[int, int],
        kind: SwitchKind,
        *,
        remote: bool = False,
        rated_a: float = _SWITCH_A,
        normal_open: bool = False,
    ) -> str:
        """A switch from ``ends[0]`` (source side) to ``ends[1]``, with its FTU, DTU or relay."""
        a, b = ends
        owner = self.node_feeder[a] if self.node_feeder[a] >= 0 else self.node_feeder[b]
        switch_id = self.feeders[owner].next_id("K", 2)
        row = {
            "id": switch_id,
            "name": None,  # in emit()
            "from_node": self.node_id[a],
            "to_node": self.node_id[b],
            "kind": kind.value,
            "normal_state": (SwitchState.OPEN if normal_open else SwitchState.CLOSED).value,
            "present_state": None,
            "remote": remote,
            "rated_a": rated_a,
        }
        self.switches.append((row, line, label))
        if kind is SwitchKind.BREAKER:
            self.detector(f"{switch_id}-RELAY", line, label + "保护", DetectorKind.RELAY, switch_id)
        elif remote:
            in_cabinet = self.node_kind[a] in _CABINETS
            unit = DetectorKind.DTU if in_cabinet else DetectorKind.FTU
            self.detector(
                f"{switch_id}-{unit.value.upper()}",
                line,
                label + unit.value.upper(),
                unit,
                switch_id,
                directional=True,
            )
        return switch_id

    def detector(
        self,
        detector_id: str,
        line: int,
        label: str,
        kind: DetectorKind,
        branch: str,
        *,
        directional: bool = False,
    ) -> None:
        row: _Row = {"id": detector_id, "name": None, "kind": kind.value, "branch": branch}
        row["directional"] = directional
        self.detectors.append((row, line, label))

    def new_line(self, fi: int, parent: int, at: int, name: str = "") -> int:
        """A trunk (``parent`` -1), tie line (-2) or branch of line ``parent``, from ``at``;
        branches are numbered along their parent."""
        self.line_feeder.append(fi)
        self.line_parent.append(parent)
        self.line_at.append(at)
        self.line_name.append(name)
        self.line_number.append(self.feeders[fi].bump(f"line{parent}") if parent >= 0 else 0)
        return len(self.line_feeder) - 1

    def step(self, walk: _Walk, line: int, km: float, conductor: _Conductor) -> str:
        """Extend ``walk`` by a section of ``km`` along its heading to a new pole."""
        walk.x += km * math.cos(walk.heading)
        walk.y += km * math.sin(walk.heading)
        previous, walk.pole = walk.pole, walk.pole + max(1, round(km / _SPAN_KM))
        fi = self.node_feeder[walk.node]
        pole = self.node(fi, line, f"#{walk.pole}", walk.x, walk.y)
        section = self.section(line, f"#{previous}–#{walk.pole}", (walk.node, pole), km, conductor)
        walk.node, walk.km = pole, walk.km + km
        self.feeders[fi].line_nodes.append(pole)
        return section

    def in_county(self, x: float, y: float) -> bool:
        return abs(x) <= self.width_km / 2 and abs(y) <= self.height_km / 2

    def in_town(self, x: float, y: float) -> bool:
        return x * x + y * y < self.opt.town_radius_km**2

    # -- build --------------------------------------------------------------------------------

    def build(self) -> RawNetwork:
        self.place_townships_and_substations()
        for s in range(self.n_substations):
            offset = self.draw.uniform(0.0, 2 * math.pi)
            for i in range(self.n_per_substation):
                bearing = offset + 2 * math.pi * i / self.n_per_substation
                self.build_feeder(s, i + 1, bearing + self.draw.uniform(-0.15, 0.15))
        self.connect_ties()
        node_township = self.assign_townships()
        self.add_hv_customers(node_township)
        self.add_sensitive_customers()
        return self.emit()

    def place_townships_and_substations(self) -> None:
        """Township seats on a jittered grid, the county town at (0, 0); substations at the
        centres of a k-means over the seats (the town's held), so that each supplies about the
        same area; the seat nearest each moves there."""
        draw, n = self.draw, self.n_townships
        w, h = self.width_km, self.height_km
        cols = max(1, round(math.sqrt(n * w / h)))
        rows = math.ceil(n / cols)
        points = [
            (
                (c + 0.5 + draw.uniform(-0.25, 0.25)) * w / cols - w / 2,
                (r + 0.5 + draw.uniform(-0.25, 0.25)) * h / rows - h / 2,
            )
            for r in range(rows)
            for c in range(cols)
        ]
        points.pop(min(range(len(points)), key=lambda i: math.hypot(*points[i])))
        draw.shuffle(points)
        points = [(0.0, 0.0), *points[: n - 1]]
        clear = 2.4 * self.opt.town_radius_km  # other seats stay out of the county town
        for i, (x, y) in enumerate(points[1:], start=1):
            d = math.hypot(x, y)
            if d < clear:
                points[i] = (x * clear / max(d, 1e-9), y * clear / max(d, 1e-9))
        xy = np.array(points)
        start = xy[_farthest_points(xy, [0], self.n_substations)]
        order = [0]
        for cx, cy in _kmeans(xy, start, fixed=1)[1:]:  # the nearest seat moves there
            free = [i for i in range(n) if i not in order]
            order.append(min(free, key=lambda i: math.hypot(xy[i, 0] - cx, xy[i, 1] - cy)))
            points[order[-1]] = (float(cx), float(cy))
        taken = set(order)
        order += [i for i in range(n) if i not in taken]
        self.township_xy = [points[i] for i in order]
        codes: set[str] = set()
        for i, (stem, code) in enumerate(_township_stems(draw, n)):
            self.stems.append(stem)
            self.township_names.append(stem + ("镇" if i < max(3, n // 2) else "乡"))
            if i < self.n_substations:
                unique, k = code, 2
                while unique in codes:
                    unique, k = f"{code}{k}", k + 1
                codes.add(unique)
                self.sub_ids.append(unique)
                self.sub_names.append(stem + "变")
                x, y = self.township_xy[i]
                self.sub_busbars.append(
                    self.node(
                        -1,
                        -1,
                        f"{stem}变10kV母线",
                        x,
                        y,
                        kind=NodeKind.BUSBAR,
                        node_id=f"{unique}-B10",
                    )
                )

    def build_feeder(self, s: int, number: int, bearing: float) -> None:
        """Breaker, cable exit, trunk with its switches, branches, then the loads along them."""
        draw = self.draw
        sx, sy = self.township_xy[s]
        numeral = _NUMERALS[number - 1] if number <= len(_NUMERALS) else str(number)
        feeder = _Feeder(
            len(self.feeders),
            f"{self.sub_ids[s]}-F{number:02d}",
            f"{self.stems[s]}{numeral}线",
            s,
            bearing,
            self.in_town(sx, sy),
        )
        self.feeders.append(feeder)
        fi = feeder.index
        trunk = self.new_line(fi, -1, self.sub_busbars[s])
        x, y = sx + 0.05 * math.cos(bearing), sy + 0.05 * math.sin(bearing)
        walk = _Walk(self.node(fi, trunk, "出线", x, y, kind=NodeKind.JUNCTION), x, y, bearing)
        self.switch(
            trunk,
            f"{900 + number}开关",
            (self.sub_busbars[s], walk.node),
            SwitchKind.BREAKER,
            remote=True,
            rated_a=1250.0 if feeder.town else 630.0,
        )
        if feeder.town:  # cable out of the substation through ring main units
            for k in range(1, draw.integer(2, 4) + 1):
                km = draw.uniform(0.2, 0.5)
                walk.x += km * math.cos(bearing)
                walk.y += km * math.sin(bearing)
                station = s == 0 and number == 1 and k == 1
                label = "开闭所" if station else f"{k}号环网柜"
                cabinet = self.node(
                    fi,
                    trunk,
                    label,
                    walk.x,
                    walk.y,
                    kind=NodeKind.SWITCHING_STATION if station else NodeKind.RING_MAIN_UNIT,
                )
                self.section(trunk, f"{label}进线电缆", (walk.node, cabinet), km, _YJV22_300)
                out = self.node(
                    fi, trunk, f"{label}出线", walk.x, walk.y, kind=NodeKind.RING_MAIN_UNIT
                )
                self.switch(
                    trunk,
                    f"{label}出线开关",
                    (cabinet, out),
                    SwitchKind.LOAD_BREAK_SWITCH,
                    remote=True,
                )
                feeder.line_nodes.append(out)
                walk.node, walk.km = out, walk.km + km
        elif draw.chance(0.5):  # a short cable to the first pole
            self.step(walk, trunk, draw.uniform(0.08, 0.3), _YJV22_300)
        low, high = self.opt.town_trunk_km if feeder.town else self.opt.rural_trunk_km
        branches = self.run_trunk(feeder, trunk, walk, draw.uniform(low, high))
        for at, bx, by, heading in branches:
            self.run_branch(feeder, trunk, _Walk(at, bx, by, heading), sub=False)
        self.place_areas(feeder)

    def run_trunk(
        self,
        feeder: _Feeder,
        line: int,
        walk: _Walk,
        length: float,
    ) -> list[tuple[int, float, float, float]]:
        """The trunk: switches every 2–4 km, an indicator every 2–3.5 km; the branch points."""
        draw, bearing = self.draw, feeder.bearing
        recloser_due = not feeder.town and length >= self.opt.recloser_min_trunk_km
        next_switch = walk.km + draw.uniform(2.0, 4.0)
        next_indicator = walk.km + draw.uniform(0.8, 2.0)
        next_branch = walk.km + draw.uniform(0.3, 1.0)
        branches: list[tuple[int, float, float, float]] = []
        while True:
            walk.heading = bearing + 0.8 * (walk.heading - bearing) + draw.uniform(-0.1, 0.1)
            conductor = _JKLYJ_240 if feeder.town or walk.km < 0.6 * length else _JKLYJ_150
            section = self.step(walk, line, draw.uniform(0.1, 0.4), conductor)
            if walk.km >= next_indicator:
                self.detector(
                    feeder.next_id("FI", 2),
                    line,
                    f"#{walk.pole}故障指示器",
                    DetectorKind.FAULT_INDICATOR,
                    section,
                )
                next_indicator += draw.uniform(2.0, 3.5)
            if walk.km >= length or not self.in_county(walk.x, walk.y):
                break
            if walk.km >= next_switch:
                after = self.node(feeder.index, line, f"#{walk.pole}开关后", walk.x, walk.y)
                ends, at = (walk.node, after), f"#{walk.pole}"
                if recloser_due and walk.km >= 0.4 * length:
                    self.switch(line, at + "重合器", ends, SwitchKind.RECLOSER, remote=True)
                    recloser_due = False
                elif draw.chance(0.12):
                    self.switch(
                        line,
                        at + "隔离刀闸",
                        ends,
                        SwitchKind.DISCONNECTOR,
                        rated_a=_DISCONNECTOR_A,
                    )
                else:
                    self.switch(
                        line,
                        at + "分段开关",
                        ends,
                        SwitchKind.LOAD_BREAK_SWITCH,
                        remote=draw.chance(0.8 if feeder.town else 0.5),
                    )
                walk.node = after
                next_switch += draw.uniform(2.0, 4.0)
            elif walk.km >= next_branch:
                heading = walk.heading + draw.side() * draw.uniform(0.9, 1.55)
                branches.append((walk.node, walk.x, walk.y, heading))
                next_branch += draw.uniform(0.3, 0.8) if feeder.town else draw.uniform(0.7, 1.7)
        feeder.trunk_end = walk.node
        feeder.tie_nodes.extend(feeder.line_nodes)
        return branches

    def run_branch(self, feeder: _Feeder, parent: int, walk: _Walk, *, sub: bool) -> None:
        """A branch (or sub-branch) line with its head switch and first fault indicator."""
        draw = self.draw
        if sub:
            length = draw.uniform(0.4, 1.8)
        elif feeder.town and self.in_town(walk.x, walk.y):
            length = draw.uniform(0.3, 1.5)
        else:
            length = draw.uniform(4.0, 7.0) if draw.chance(0.1) else draw.uniform(0.8, 4.5)
        line = self.new_line(feeder.index, parent, walk.node)
        head = self.node(feeder.index, line, "#1", walk.x, walk.y)
        if sub or length < 1.5:
            kind = SwitchKind.FUSE if draw.chance(0.75) else SwitchKind.DISCONNECTOR
        else:
            kind = draw.weighted(
                (
                    (SwitchKind.LOAD_BREAK_SWITCH, 0.55),
                    (SwitchKind.SECTIONALISER, 0.30),
                    (SwitchKind.FUSE, 0.15),
                )
            )
        label, rated_a = {
            SwitchKind.FUSE: ("跌落式熔断器", _FUSE_A),
            SwitchKind.DISCONNECTOR: ("隔离刀闸", _DISCONNECTOR_A),
            SwitchKind.SECTIONALISER: ("分界开关", _SWITCH_A),
        }.get(kind, ("开关", _SWITCH_A))
        remote = kind is SwitchKind.LOAD_BREAK_SWITCH and draw.chance(0.3)
        self.switch(line, label, (walk.node, head), kind, remote=remote, rated_a=rated_a)
        conductor = _JKLYJ_70 if sub else _JKLYJ_150 if length >= 3.0 else _JKLYJ_95
        indicator = draw.chance(0.3) if sub else length >= 1.0 or draw.chance(0.5)
        walk.node, base = head, walk.heading
        first = len(feeder.line_nodes)
        subs: list[_Walk] = []
        while walk.km < length and (walk.km == 0.0 or self.in_county(walk.x, walk.y)):
            walk.heading = base + 0.7 * (walk.heading - base) + draw.uniform(-0.15, 0.15)
            km = draw.uniform(0.1, 0.4)
            section = self.step(walk, line, km, conductor)
            if indicator:
                self.detector(
                    feeder.next_id("FI", 2),
                    line,
                    "首端故障指示器",
                    DetectorKind.FAULT_INDICATOR,
                    section,
                )
                indicator = False
            inside = walk.km < length and self.in_county(walk.x, walk.y)
            if not sub and inside and draw.chance(km / 2.5):
                heading = walk.heading + draw.side() * draw.uniform(0.8, 1.5)
                subs.append(_Walk(walk.node, walk.x, walk.y, heading))
        if not sub and kind not in (SwitchKind.FUSE, SwitchKind.DISCONNECTOR):  # ties may end here
            feeder.tie_nodes.extend(feeder.line_nodes[first:])
            feeder.branch_ends.append(walk.node)
        for sub_walk in subs:
            self.run_branch(feeder, line, sub_walk, sub=True)

    def place_areas(self, feeder: _Feeder) -> None:
        """Transformer areas along the feeder's lines: in villages separated by fields (a line
        leaving a village carries it on), and dense along the streets of the county town."""
        draw = self.draw
        street, street_left = draw.choice(_STREETS), 0.0
        # per node: inside a village?, km left of the village or field, the village (-1: none yet)
        state: dict[int, tuple[bool, float, int]] = {}
        last_line, lx, ly = -1, 0.0, 0.0
        in_village, left, village = False, 0.0, -1
        for node in feeder.line_nodes:
            line, x, y = self.node_line[node], self.node_x[node], self.node_y[node]
            if line != last_line:
                at = self.line_at[line]
                in_village, left, village = state.get(at, (False, draw.uniform(0.3, 2.0), -1))
                lx, ly, last_line = self.node_x[at], self.node_y[at], line
            step = math.hypot(x - lx, y - ly)
            lx, ly = x, y
            left -= step
            if left <= 0.0:
                in_village = not in_village
                left = draw.uniform(1.2, 2.4) if in_village else draw.uniform(4.0, 8.0)
                village = -1
            if self.in_town(x, y):
                street_left -= step
                if street_left <= 0.0:
                    street, street_left = draw.choice(_STREETS), draw.uniform(0.3, 0.8)
                for _ in range(draw.chance(0.85) + draw.chance(0.3)):
                    kva = draw.weighted(_TOWN_KVA)
                    customers = round(kva * draw.uniform(0.25, 0.45))
                    self.add_area(feeder, node, kva, customers, street=street, village=-1)
            elif in_village:
                for _ in range(draw.chance(0.9) + draw.chance(0.4)):
                    if village < 0:
                        village = self.new_village()
                    if not self.line_name[line] and self.line_parent[line] >= 0:
                        self.line_name[line] = self.villages[village].stem
                    kva = draw.weighted(_RURAL_KVA)
                    customers = draw.integer(30, 50)
                    self.add_area(feeder, node, kva, customers, street=None, village=village)
            state[node] = (in_village, left, village)

    def add_area(
        self,
        feeder: _Feeder,
        node: int,
        kva: int,
        customers: int,
        *,
        street: str | None,
        village: int,
    ) -> None:
        draw = self.draw
        ratio = draw.uniform(0.6, 0.9) if draw.chance(0.04) else draw.uniform(0.08, 0.25)
        if village >= 0:
            v = self.villages[village]
            v.areas += 1
            v.x_sum += self.node_x[node]
            v.y_sum += self.node_y[node]
            name = f"{v.name}{v.areas}号台区"
        else:
            where = str(street)
            self.street_areas[where] = self.street_areas.get(where, 0) + 1
            name = f"{where}{self.street_areas[where]}号台区"
        self.areas.append(
            {
                "id": f"TA-{feeder.id}-{feeder.bump('TA'):03d}",
                "name": name,
                "node": self.node_id[node],
                "rated_kva": float(kva),
                "lv_customers": customers,
                "load_kw": round(kva * ratio, 1),
                "village": None,  # with the township, once villages are placed
                "street": street,
                "township": None,
            }
        )
        self.area_village.append(village)
        self.area_node.append(node)

    def new_village(self) -> int:
        """A village with a new name: 李庄村, 王家营村, 东张寨村, …"""
        draw = self.draw
        while True:
            surname, pattern = draw.choice(_SURNAMES), draw.random()
            if pattern < 0.45:
                name = surname + draw.choice(_VILLAGE_SUFFIXES)
            elif pattern < 0.65:
                name = surname + "家" + draw.choice(_FAMILY_SUFFIXES)
            else:
                name = draw.choice(_PREFIXES) + surname + draw.choice(_PREFIX_SUFFIXES)
            village = _Village(name)
            if village.name not in self.village_names:
                self.village_names.add(village.name)
                self.villages.append(village)
                return len(self.villages) - 1

    # -- ties ---------------------------------------------------------------------------------

    def connect_ties(self) -> None:
        """Normally-open tie switches from the ends of trunks and main branches (not behind a
        fuse) to the nearest such pole of another feeder: most feeders get two, some one, and
        none is left without."""
        draw = self.draw
        index = _PoleIndex(self)
        tied: list[set[int]] = [set() for _ in self.feeders]
        for feeder in self.feeders:
            fi = feeder.index
            want = 1 if draw.chance(0.2) else 2
            sx, sy = self.township_xy[feeder.substation]
            ends = sorted(
                feeder.branch_ends,
                key=lambda n: -math.hypot(self.node_x[n] - sx, self.node_y[n] - sy),
            )
            for start in [feeder.trunk_end, *ends[:4]]:
                if len(tied[fi]) >= want:
                    break
                target = index.nearest(start, fi, tied[fi], max_km=6.0)
                if target >= 0:
                    self.add_tie(fi, start, target, tied)
        for feeder in self.feeders:
            if not tied[feeder.index] and len(self.feeders) > 1:
                target = index.nearest(feeder.trunk_end, feeder.index, set(), max_km=math.inf)
                self.add_tie(feeder.index, feeder.trunk_end, target, tied)

    def add_tie(self, fi: int, start: int, target: int, tied: list[set[int]]) -> None:
        """A tie line from ``start`` (feeder ``fi``) to a tie switch at ``target``."""
        gi = self.node_feeder[target]
        line = self.new_line(fi, -2, start, f"—{self.feeders[gi].name}联络线")
        x0, y0 = self.node_x[start], self.node_y[start]
        x1, y1 = self.node_x[target], self.node_y[target]
        total = math.hypot(x1 - x0, y1 - y0)
        steps = max(1, math.ceil(total / 0.35))
        node, pole = start, 0
        for k in range(1, steps + 1):
            jitter = 0.0 if k == steps else self.draw.uniform(-0.03, 0.03)
            x = x0 + (x1 - x0) * k / steps + jitter
            y = y0 + (y1 - y0) * k / steps - jitter
            previous, pole = pole, pole + max(1, round(total / steps / _SPAN_KM))
            new = self.node(fi, line, f"#{pole}", x, y)
            self.section(line, f"#{previous}–#{pole}", (node, new), total / steps, _JKLYJ_150)
            node = new
        self.switch(
            line,
            "联络开关",
            (node, target),
            SwitchKind.LOAD_BREAK_SWITCH,
            remote=self.draw.chance(0.6),
            normal_open=True,
        )
        tied[fi].add(gi)
        tied[gi].add(fi)

    # -- townships and customers ----------------------------------------------------------------

    def assign_townships(self) -> NDArray[np.intp]:
        """Township of every node (nearest seat; the county town's inside it); a village takes
        its centre's."""
        rural = [n for n, v in zip(self.area_node, self.area_village, strict=True) if v >= 0]
        if len(rural) >= self.n_townships:  # seats without substation move to where people live
            xy = np.column_stack((np.take(self.node_x, rural), np.take(self.node_y, rural)))
            moved = _kmeans(xy, np.array(self.township_xy), fixed=self.n_substations)
            self.township_xy = [(float(x), float(y)) for x, y in moved]
        seats = cKDTree(np.array(self.township_xy))
        node_township = _nearest(seats, np.column_stack((self.node_x, self.node_y)))
        town = (np.square(self.node_x) + np.square(self.node_y)) < self.opt.town_radius_km**2
        node_township[town] = 0
        if self.villages:
            centers = np.array([v.center for v in self.villages])
            for v, t in zip(self.villages, _nearest(seats, centers), strict=True):
                v.township = int(t)
        for row, village, node in zip(self.areas, self.area_village, self.area_node, strict=True):
            if village >= 0:
                row["village"] = self.villages[village].name
                row["township"] = self.township_names[self.villages[village].township]
            else:
                row["township"] = self.township_names[int(node_township[node])]
        return node_township

    def add_hv_customers(self, node_township: NDArray[np.intp]) -> None:
        """The county town's hospitals, water works, …, then a few factories, quarries, pumping
        stations, cold stores and farms on every feeder, each on its own tap."""
        draw = self.draw
        centers = cKDTree(np.array([v.center for v in self.villages]))
        town = [
            n
            for f in self.feeders
            for n in f.line_nodes
            if self.in_town(self.node_x[n], self.node_y[n])
        ]
        plan: list[tuple[int, _HVKind | _Special]] = []
        if town:
            plan += [(draw.choice(town), special) for special in _TOWN_SPECIALS]
        for feeder in self.feeders:
            for _ in range(draw.integer(*self.opt.hv_customers_per_feeder)):
                node = draw.choice(feeder.line_nodes)
                in_town = self.in_town(self.node_x[node], self.node_y[node])
                kinds = [(k, k.weight) for k in _HV_KINDS if not (in_town and k.rural)]
                plan.append((node, draw.weighted(kinds)))
        at = np.array([(self.node_x[node], self.node_y[node]) for node, _ in plan]).reshape(-1, 2)
        near_village = _nearest(centers, at)
        category: SensitiveCategory | None
        for (node, kind), v in zip(plan, near_village, strict=True):
            x, y = self.node_x[node], self.node_y[node]
            t = int(node_township[node])
            nearest = self.villages[int(v)]
            village = nearest.name
            if isinstance(kind, _Special):
                name, kva, importance = kind.name, kind.kva, kind.importance
                category, people = kind.category, kind.people
            else:
                name = kind.pattern.format(
                    village=nearest.stem,
                    company=draw.choice(_COMPANIES),
                    industry=draw.choice(_INDUSTRIES),
                    township=self.stems[t],
                )
                kva = _HV_KVA[draw.integer(*kind.kva)]
                important = "化工" in name and draw.chance(0.5)
                importance = HVImportance.CLASS_2 if important else HVImportance.NORMAL
                category, people = kind.sensitive, None
            name = self.unique_hv_name(name)
            hv_id, tap = self.add_hv_tap(node, name, kva)
            in_town = self.in_town(x, y)
            self.hv.append(
                {
                    "id": hv_id,
                    "name": name,
                    "node": self.node_id[tap],
                    "contracted_kva": float(kva),
                    "importance": importance.value,
                    "load_kw": round(kva * draw.uniform(0.15, 0.4), 1),
                    "village": None if in_town else village,
                    "street": draw.choice(_STREETS) if in_town else None,
                    "township": self.township_names[t],
                }
            )
            if category is not None:
                self.add_sensitive(name, category, hv_id, people, kind.note)

    def unique_hv_name(self, name: str) -> str:
        base, k = name, 1
        while name in self.hv_names:
            k += 1
            name = f"{base}{_DIGITS[k - 1] if k <= 10 else k}分厂"
        self.hv_names.add(name)
        return name

    def add_hv_tap(self, at: int, name: str, kva: int) -> tuple[str, int]:
        """A customer's own tap: boundary switch (fuse if small), service line, terminal."""
        draw = self.draw
        fi = self.node_feeder[at]
        feeder = self.feeders[fi]
        hv_id = f"HV-{feeder.id}-{feeder.bump('HV'):02d}"
        x, y = self.node_x[at], self.node_y[at]
        kind = NodeKind(self.node_kind[at])
        boundary = self.node(fi, -1, f"{name}产权分界点", x, y, kind=kind)
        if kva >= 630:
            self.switch(-1, f"{name}分界开关", (at, boundary), SwitchKind.SECTIONALISER)
        else:
            self.switch(-1, f"{name}跌落式熔断器", (at, boundary), SwitchKind.FUSE, rated_a=_FUSE_A)
        km, angle = draw.uniform(0.05, 0.4), draw.uniform(0.0, 2 * math.pi)
        x, y = x + km * math.cos(angle), y + km * math.sin(angle)
        tap = self.node(fi, -1, f"{name}配电室", x, y, kind=NodeKind.CUSTOMER_TAP)
        conductor = _YJV22_70 if self.in_town(x, y) else _JKLYJ_95
        self.section(-1, f"{name}进线", (boundary, tap), km, conductor)
        return hv_id, tap

    def add_sensitive(
        self,
        name: str,
        category: SensitiveCategory,
        supplied_by: str,
        people: int | None,
        note: str | None,
    ) -> None:
        self.sensitive.append(
            {
                "id": f"SC-{len(self.sensitive) + 1:03d}",
                "name": name,
                "category": category.value,
                "supplied_by": supplied_by,
                "people": people,
                "note": note,
            }
        )

    def add_sensitive_customers(self) -> None:
        """Sensitive customers behind transformer areas: township nursing homes (the first with
        96 residents), clinics and schools at the seat, village schools, water stations, farms,
        a household on home medical equipment, and two in the county town."""
        draw = self.draw
        factor = max(1.0, len(self.feeders) / 24)
        rural = [i for i, v in enumerate(self.area_village) if v >= 0]
        by_township: dict[int, list[int]] = {}
        for i in rural:
            by_township.setdefault(self.villages[self.area_village[i]].township, []).append(i)

        def at_seat(t: int) -> int:  # one of the areas nearest the township seat
            tx, ty = self.township_xy[t]
            near = sorted(
                by_township[t],
                key=lambda i: math.hypot(
                    self.node_x[self.area_node[i]] - tx, self.node_y[self.area_node[i]] - ty
                ),
            )
            return draw.choice(near[:5])

        def people(facility: _Facility) -> int | None:
            return draw.integer(*facility.people) if facility.people else None

        for facility in _TOWNSHIP_FACILITIES:
            townships = sorted(by_township)
            draw.shuffle(townships)
            for k, t in enumerate(townships[: round(facility.count * factor)]):
                count, note = people(facility), facility.note
                if facility.category is SensitiveCategory.NURSING_HOME and k == 0:
                    count, note = (
                        _NURSING_HOME_PEOPLE,
                        f"集中供养老人{_NURSING_HOME_PEOPLE}人，冬季电取暖",
                    )
                self.add_sensitive(
                    self.township_names[t] + facility.suffix,
                    facility.category,
                    self.areas[at_seat(t)]["id"],
                    count,
                    note,
                )
        names: set[str] = set()
        for facility in _VILLAGE_FACILITIES:
            for _ in range(max(1, round(facility.count * factor))):
                i = draw.choice(rural)
                village = self.villages[self.area_village[i]].name
                name = village + facility.suffix.format(farm=draw.choice(_ANIMAL_FARMS))
                if name not in names:
                    names.add(name)
                    self.add_sensitive(
                        name,
                        facility.category,
                        self.areas[i]["id"],
                        people(facility),
                        facility.note,
                    )
        town = [i for i, v in enumerate(self.area_village) if v < 0]
        if town:
            self.add_sensitive(
                "县社会福利院",
                SensitiveCategory.NURSING_HOME,
                self.areas[draw.choice(town)]["id"],
                64,
                "孤残儿童与老人",
            )
            self.add_sensitive(
                "县实验小学",
                SensitiveCategory.SCHOOL,
                self.areas[draw.choice(town)]["id"],
                2600,
                None,
            )

    # -- output -------------------------------------------------------------------------------

    def line_prefix(self, line: int) -> str:
        """``城关Ⅲ线``, ``…李庄支线``, ``…李庄支线张寨分支``, ``城关Ⅲ线—柏山Ⅴ线联络线``."""
        parent, name = self.line_parent[line], self.line_name[line]
        feeder = self.feeders[self.line_feeder[line]].name
        if parent < 0:
            return feeder + name
        suffix = "支线" if self.line_parent[parent] == -1 else "分支"
        return self.line_prefix(parent) + (name or f"{self.line_number[line]}号") + suffix

    def emit(self) -> RawNetwork:
        raw = RawNetwork(name=f"county-{self.seed}")
        source = f"generator:{self.seed}"

        def fill(name: str, rows: list[_Row]) -> None:
            table = raw.table(name)
            table.rows = rows
            table.locations = [Location(source, element=row["id"]) for row in rows]

        cell_names, crews, node_cell = self.grid_cells()
        fill(
            "grid_cells",
            [
                {"id": f"GC-{i + 1:02d}", "name": name, "crew": crew}
                for i, (name, crew) in enumerate(zip(cell_names, crews, strict=True))
            ],
        )
        fill(
            "substations",
            [
                {
                    "id": sub_id,
                    "name": name,
                    "busbar_node": self.node_id[busbar],
                    "voltage_kv": 10.0,
                }
                for sub_id, name, busbar in zip(
                    self.sub_ids, self.sub_names, self.sub_busbars, strict=True
                )
            ],
        )
        fill(
            "feeders",
            [
                {
                    "id": f.id,
                    "name": f"10kV {f.name}",
                    "substation": self.sub_ids[f.substation],
                    "head": f"{f.id}-K01",
                }  # the breaker is the feeder's first switch
                for f in self.feeders
            ],
        )
        prefixes = [self.line_prefix(i) for i in range(len(self.line_feeder))]
        prefixes.append("")  # line -1: the label is the whole name
        lon, lat = self.lon_lat()
        fill(
            "nodes",
            [
                {
                    "id": node_id,
                    "name": prefixes[line] + label,
                    "kind": kind,
                    "lon_deg": x,
                    "lat_deg": y,
                    "grid_cell": f"GC-{cell + 1:02d}",
                }
                for node_id, line, label, kind, x, y, cell in zip(
                    self.node_id,
                    self.node_line,
                    self.node_label,
                    self.node_kind,
                    lon,
                    lat,
                    node_cell,
                    strict=True,
                )
            ],
        )
        for name, labelled in (
            ("sections", self.sections),
            ("switches", self.switches),
            ("detectors", self.detectors),
        ):
            for row, line, label in labelled:
                row["name"] = prefixes[line] + label
            fill(name, [row for row, _, _ in labelled])
        fill("transformer_areas", self.areas)
        fill("hv_customers", self.hv)
        fill("sensitive_customers", self.sensitive)
        return raw

    def lon_lat(self) -> tuple[list[float], list[float]]:
        lat0 = self.opt.center_lat_deg
        km_per_deg_lon = 111.320 * math.cos(math.radians(lat0))
        lon = np.round(self.opt.center_lon_deg + np.asarray(self.node_x) / km_per_deg_lon, 6)
        lat = np.round(lat0 + np.asarray(self.node_y) / 110.574, 6)
        return lon.tolist(), lat.tolist()

    def grid_cells(self) -> tuple[list[str], list[str], list[int]]:
        """Cells from a k-means over the nodes, two held in the county town; every node goes to
        the nearest centre; a cell is named after the township seat nearest its centre."""
        xy = np.column_stack((self.node_x, self.node_y))
        r = self.opt.town_radius_km / 2
        fixed = np.array([(0.0, r), (0.0, -r)])
        sample = np.vstack((fixed, xy[:: max(1, len(xy) // 20000)]))
        start = sample[_farthest_points(sample, [0, 1], self.n_cells)]
        centers = _kmeans(sample, start, fixed=2)
        seat = _nearest(cKDTree(np.array(self.township_xy)), centers)
        seat[:2] = 0
        names, crews, per_station = [], [], dict[int, int]()
        for t in (int(t) for t in seat):
            k = per_station[t] = per_station.get(t, 0) + 1
            digit = _DIGITS[k - 1] if k <= len(_DIGITS) else str(k)
            names.append(f"{self.stems[t]}{digit}网格")
            crews.append(f"{self.stems[t]}供电所抢修{digit}班")
        return names, crews, _nearest(cKDTree(centers), xy).tolist()


class _PoleIndex:
    """Nearest line pole of another feeder (for tie switches), by k-d tree."""

    def __init__(self, county: _County) -> None:
        self.county = county
        self.nodes = np.array([n for f in county.feeders for n in f.tie_nodes], dtype=np.intp)
        self.owner = np.array([f.index for f in county.feeders for _ in f.tie_nodes])
        self.xy = np.column_stack(
            (np.take(county.node_x, self.nodes), np.take(county.node_y, self.nodes))
        )
        self.tree = cKDTree(self.xy)

    def nearest(self, start: int, fi: int, exclude: set[int], *, max_km: float) -> int:
        """The pole nearest ``start`` not on feeder ``fi`` nor ``exclude``; -1 if none near."""
        point = np.array([self.county.node_x[start], self.county.node_y[start]])
        distances, found = self.tree.query(point, k=min(256, len(self.nodes)))
        for d, j in zip(np.atleast_1d(distances), np.atleast_1d(found), strict=True):
            g = int(self.owner[j])
            if g != fi and g not in exclude:
                return int(self.nodes[j]) if d <= max_km else -1
        allowed = (self.owner != fi) & ~np.isin(self.owner, list(exclude))
        if not allowed.any():
            return -1
        d2 = np.where(allowed, ((self.xy - point) ** 2).sum(axis=1), np.inf)
        j = int(np.argmin(d2))
        return int(self.nodes[j]) if math.sqrt(d2[j]) <= max_km else -1


def _nearest(tree: cKDTree, points: _Points) -> NDArray[np.intp]:
    _, index = tree.query(points)
    return np.asarray(index, dtype=np.intp)


def _kmeans(xy: _Points, centers: _Points, *, fixed: int, iterations: int = 12) -> _Points:
    """Lloyd's k-means from ``centers``, the first ``fixed`` of them held in place."""
    centers = np.array(centers, dtype=float)
    for _ in range(iterations):
        distance, label = cKDTree(centers).query(xy)
        label = np.asarray(label, dtype=np.intp)
        k = len(centers)
        counts = np.bincount(label, minlength=k)
        sums = np.column_stack([np.bincount(label, weights=xy[:, i], minlength=k) for i in (0, 1)])
        moved = counts > 0
        moved[:fixed] = False
        centers[moved] = sums[moved] / counts[moved, None]
        far = np.array(distance, dtype=float)
        for empty in np.flatnonzero(counts == 0):  # restart at the worst-served point
            if empty >= fixed:
                j = int(np.argmax(far))
                centers[empty], far[j] = xy[j], 0.0
    return centers


def _farthest_points(xy: _Points, start: list[int], n: int) -> list[int]:
    """Indexes of ``n`` spread-out points: ``start``, then each the farthest from those so far."""
    chosen = list(start)
    d = np.min([np.hypot(*(xy - xy[i]).T) for i in chosen], axis=0)
    while len(chosen) < min(n, len(xy)):
        j = int(np.argmax(d))
        chosen.append(j)
        d = np.minimum(d, np.hypot(*(xy - xy[j]).T))
    return chosen


def _township_stems(draw: _Draw, n: int) -> list[tuple[str, str]]:
    """``n`` township stems with their pinyin initials: the fixed ones, then combinations."""
    combos = [(a[0] + b[0], a[1] + b[1]) for a in _STEM_FIRST for b in _STEM_SECOND]
    draw.shuffle(combos)
    fixed = {stem for stem, _ in _FIXED_STEMS}
    stems = [*_FIXED_STEMS, *(c for c in combos if c[0] not in fixed)]
    if n > len(stems):
        raise ValueError(f"at most {len(stems)} townships can be named")
    return stems[:n]


def generate_county(
    *,
    seed: int = DEFAULT_SEED,
    substations: int = 3,
    feeders_per_substation: int = 8,
    options: CountyOptions | None = None,
) -> RawNetwork:
    """A synthetic county 10 kV network, the same for the same arguments; see the module doc.

    >>> net = generate_county()
    >>> len(net.tables["substations"]), len(net.tables["feeders"])
    (3, 24)
    """
    county = _County(seed, substations, feeders_per_substation, options or CountyOptions())
    return county.build()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m openoms.grid.generate --out DIR``: write a generated or published network."""
    parser = argparse.ArgumentParser(
        prog="python -m openoms.grid.generate",
        description="Write the synthetic county network (or IEEE 33) in the native format.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="folder for the CSV files, or the .json file (or its folder)",
    )
    parser.add_argument("--network", choices=("county", "ieee33"), default="county")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--substations", type=int, default=3)
    parser.add_argument("--feeders-per-substation", type=int, default=8)
    parser.add_argument("--format", choices=("csv", "json"), default="csv")
    args = parser.parse_args(argv)
    if args.network == "ieee33":
        from openoms.grid.ieee33 import ieee33  # noqa: PLC0415  # only this command needs it

        raw = ieee33()
    else:
        raw = generate_county(
            seed=args.seed,
            substations=args.substations,
            feeders_per_substation=args.feeders_per_substation,
        )
    out: Path = args.out
    if args.format == "csv":
        write_csv_folder(raw, out)
    else:
        if out.suffix.lower() != ".json":
            out.mkdir(parents=True, exist_ok=True)
            out = out / "network.json"
        write_json_document(raw, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
