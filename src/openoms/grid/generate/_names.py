"""Made-up names: townships and their pinyin codes, villages, streets, companies.

Every name is drawn from these word lists; none is a real place or firm.
"""

from __future__ import annotations

from typing import Final

from openoms.grid.generate._county import CountyOptionsError
from openoms.grid.generate._draw import Draw

__all__ = [
    "ANIMAL_FARMS",
    "COMPANIES",
    "DIGITS",
    "INDUSTRIES",
    "NUMERALS",
    "STREETS",
    "township_stems",
    "village_name",
]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


NUMERALS: Final = "ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩⅪⅫ"
DIGITS: Final = "一二三四五六七八九十"
# Township stems with pinyin initials: three fixed ones, then two-syllable combinations.
_FIXED_STEMS: Final = (("城关", "CG"), ("柏山", "BS"), ("宁郭", "NG"))
_STEM_FIRST: Final = _words(
    "青Q 白B 金J 石S 龙L 凤F 双S 三S 五W 清Q 杏X 桃T 沙S 太T 永Y "
    "长C 新X 红H 丰F 杨Y 古G 黄H 马M 柳L 松S 梅M 兰L 竹Z 安A 仁R"
)
_STEM_SECOND: Final = _words("山S 河H 岭L 湖H 岗G 桥Q 庄Z 园Y 泉Q 店D 集J 坡P 湾W 营Y 林L 川C")
_STEM_PREFIXES: Final = _words("东D 西X 南N 北B 上S 下X 前Q 后H 大D 小X")  # past 483 townships
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
STREETS: Final = _words(
    "人民路 建设路 解放路 文化路 民主路 新华路 中山路 胜利路 和平路 健康路 工业路 迎宾大道 "
    "朝阳路 光明路 东风路 友谊路 团结路 育才路 振兴路 滨河路 老城街 南关街 北关街 商贸城 "
    "幸福小区 锦绣花园 阳光小区 康乐小区 翠苑小区 金桂园小区 书香名邸 世纪花园 丽景小区 怡和苑"
)
COMPANIES: Final = _words(
    "宏达 鑫源 恒通 瑞丰 金鼎 永兴 华盛 天元 顺发 博远 豫丰 德润 利民 新亚 兴隆 通达 "
    "佳禾 丰泽 隆盛 嘉禾 康达 昌盛 万通 金源 泰和 盛源 海川 众诚 中兴 弘业 鼎盛 远航"
)
INDUSTRIES: Final = _words(
    "机械厂 面粉厂 建材有限公司 纸业有限公司 钢构有限公司 纺织有限公司 食品有限公司 "
    "混凝土搅拌站 铸造厂 塑料制品厂 木业有限公司 农机厂"
)
ANIMAL_FARMS: Final = ("养猪场", "养鸡场", "奶牛场")


def township_stems(draw: Draw, n: int) -> list[tuple[str, str]]:
    """``n`` township stems with their pinyin initials: the fixed ones, then combinations."""
    combos = [(a[0] + b[0], a[1] + b[1]) for a in _STEM_FIRST for b in _STEM_SECOND]
    draw.shuffle(combos)
    fixed = {stem for stem, _ in _FIXED_STEMS}
    stems = [*_FIXED_STEMS, *(c for c in combos if c[0] not in fixed)]
    if n > len(stems):  # a big county: 东青山, 西青山, … (in the same order, nothing more drawn)
        stems += [(p[0] + stem, p[1] + code) for p in _STEM_PREFIXES for stem, code in stems[:]]
    if n > len(stems):
        raise CountyOptionsError(
            f"at most {len(stems)} townships can be named", options=("townships",)
        )
    return stems[:n]


def village_name(draw: Draw) -> str:
    """A village stem (the name without the 村 added to it): 李庄, 王家营, 东张寨, …"""
    surname, pattern = draw.choice(_SURNAMES), draw.random()
    if pattern < 0.45:
        return surname + draw.choice(_VILLAGE_SUFFIXES)
    if pattern < 0.65:
        return surname + "家" + draw.choice(_FAMILY_SUFFIXES)
    return draw.choice(_PREFIXES) + surname + draw.choice(_PREFIX_SUFFIXES)
