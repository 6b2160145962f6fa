"""The simulated supply network: organisations with valid identifiers and who sells to whom."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

from fourflow.domain.identifiers import gs1_check_digit, uscc_check_character
from fourflow.simulation import calibration as cal
from fourflow.simulation.records import Line, Party, cents

# (region code of GB/T 2260, city) for the USCC and the address.
CITIES = (
    ("320500", "苏州"), ("320200", "无锡"), ("320400", "常州"), ("310115", "上海"),
    ("330100", "杭州"), ("330200", "宁波"), ("440300", "深圳"), ("440600", "佛山"),
    ("370200", "青岛"), ("420100", "武汉"), ("510100", "成都"), ("500000", "重庆"),
)  # fmt: skip
WORDS = ("精工", "恒达", "新材", "华盛", "永安", "创远", "博信", "鼎力", "宏图", "瑞丰", "金桥",
         "联合", "天成", "凯达", "海川", "明辉", "东升", "嘉禾", "中正", "福源")  # fmt: skip
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯"
    "邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国红云飞鹏辉宇浩晨欣怡子涵雨博文"
ROADS = (
    "人民路",
    "中山路",
    "解放路",
    "工业园路",
    "科技大道",
    "长江路",
    "黄河路",
    "建设路",
    "新华路",
)
INDUSTRY = {
    "core_enterprise": ("装备集团有限公司", "C34 通用设备制造业"),
    "supplier": ("零部件有限公司", "C33 金属制品业"),
    "distributor": ("商贸有限公司", "F51 批发业"),
    "logistics": ("供应链物流有限公司", "G54 道路运输业"),
    "warehouse": ("仓储有限公司", "G59 装卸搬运和仓储业"),
    "bank": ("商业银行股份有限公司", "J66 货币金融服务"),
}
ITEMS = (
    ("钢制法兰", "EA", "85"), ("精密轴承", "EA", "42"), ("铸铁壳体", "EA", "310"),
    ("液压阀块", "EA", "560"), ("紧固螺栓", "EA", "0.8"), ("冷轧钢板", "KGM", "6.2"),
    ("铜线束", "KGM", "68"), ("电机定子", "EA", "1200"), ("密封圈", "EA", "2.5"),
    ("铝合金型材", "KGM", "24"), ("齿轮箱", "EA", "2600"), ("控制电路板", "EA", "430"),
)  # fmt: skip
# Per scenario: the core enterprise's and suppliers' name suffix and industry (GB/T 4754), and
# the goods traded (name, UN/ECE Rec 20 unit, typical unit price in CNY). Manufacturing uses
# INDUSTRY and ITEMS above.
Goods = tuple[tuple[str, str, str], ...]
SCENARIOS: dict[str, tuple[tuple[str, str], tuple[str, str], Goods]] = {
    "agriculture": (
        ("农业产业化集团有限公司", "A01 农业"),
        ("农民专业合作社", "A01 农业"),
        (
            ("优质粳稻", "KGM", "3.1"),
            ("冬小麦", "KGM", "2.6"),
            ("黄豆", "KGM", "5.4"),
            ("脐橙", "KGM", "6.8"),
            ("有机肥", "KGM", "1.2"),
            ("饲料玉米", "KGM", "2.4"),
        ),
    ),
    "medical": (
        ("医药集团股份有限公司", "C27 医药制造业"),
        ("医疗器械有限公司", "C35 专用设备制造业"),
        (
            ("一次性输液器", "EA", "3.5"),
            ("医用口罩", "EA", "0.6"),
            ("血糖试纸", "EA", "1.8"),
            ("注射用头孢曲松钠", "EA", "12"),
            ("骨科固定板", "EA", "850"),
            ("生化试剂盒", "EA", "420"),
        ),
    ),
    "bulk_commodities": (
        ("能源集团有限公司", "B06 煤炭开采和洗选业"),
        ("矿产贸易有限公司", "F51 批发业"),
        (
            ("动力煤", "TNE", "860"),
            ("铁矿石", "TNE", "780"),
            ("电解铜", "TNE", "68000"),
            ("螺纹钢", "TNE", "3700"),
            ("电解铝", "TNE", "19000"),
            ("焦炭", "TNE", "2100"),
        ),
    ),
    "culture_tourism": (
        ("文旅集团有限公司", "R90 文化艺术业"),
        ("文化传媒有限公司", "R86 广播、电视、电影"),
        (
            ("景区门票", "EA", "120"),
            ("演出场次", "EA", "45000"),
            ("文创礼盒", "EA", "88"),
            ("导览服务", "HUR", "200"),
            ("灯光音响租赁", "DAY", "6500"),
            ("展陈布展", "EA", "32000"),
        ),
    ),
    "travel": (
        ("旅游集团有限公司", "L72 商务服务业"),
        ("旅行社有限公司", "L72 商务服务业"),
        (
            ("酒店客房", "DAY", "420"),
            ("包车服务", "DAY", "1800"),
            ("机票代订", "EA", "1250"),
            ("团餐", "EA", "60"),
            ("地接服务", "DAY", "350"),
            ("旅游保险", "EA", "30"),
        ),
    ),
    "cross_border": (
        ("进出口集团有限公司", "F51 批发业"),
        ("外贸制造有限公司", "C38 电气机械和器材制造业"),
        (
            ("锂电池模组", "EA", "2400"),
            ("光伏组件", "EA", "780"),
            ("LED 灯具", "EA", "65"),
            ("家用空调", "EA", "1650"),
            ("纺织面料", "MTR", "18"),
            ("五金工具套装", "EA", "140"),
        ),
    ),
    "government_procurement": (
        ("市政工程建设有限公司", "E48 土木工程建筑业"),
        ("建材有限公司", "C30 非金属矿物制品业"),
        (
            ("商品混凝土", "MTQ", "420"),
            ("办公电脑", "EA", "5200"),
            ("路灯灯杆", "EA", "3800"),
            ("监控摄像机", "EA", "1300"),
            ("市政管材", "MTR", "95"),
            ("课桌椅", "EA", "460"),
        ),
    ),
}
_GB11714_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _org_code(rng: random.Random) -> str:
    """A 9-character organisation code (GB 11714: 8 characters and a check character)."""
    body = "MA" + "".join(rng.choice(_ORG_CHARS) for _ in range(6))
    total = sum(int(c, 36) * w for c, w in zip(body, _GB11714_WEIGHTS, strict=True))
    check = 11 - total % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


@dataclass(frozen=True, slots=True)
class Edge:
    """A selling relationship: the seller's catalogue and the edge's base order value."""

    seller: Party
    buyer: Party
    items: tuple[Line, ...]
    base_value: Decimal


@dataclass(slots=True)
class Network:
    """All parties, by role, and the clean selling relationships (a DAG)."""

    parties: list[Party] = field(default_factory=list)
    cores: list[Party] = field(default_factory=list)
    tiers: list[list[Party]] = field(default_factory=list)
    distributors: list[Party] = field(default_factory=list)
    logistics: list[Party] = field(default_factory=list)
    warehouses: list[Party] = field(default_factory=list)
    banks: list[Party] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    catalogue: dict[str, tuple[Line, ...]] = field(default_factory=dict)
    factory: _Factory | None = None

    def traders(self) -> list[Party]:
        """Suppliers and distributors (who may be drawn into circular trades or pay for others)."""
        return [p for tier in self.tiers for p in tier] + self.distributors


class _Factory:
    """Makes unique, valid parties from one random stream."""

    def __init__(self, rng: random.Random, scenario: str = "manufacturing") -> None:
        self.rng = rng
        self.scenario = scenario
        self.used: set[str] = set()
        self.counters: dict[str, int] = {}
        self.banks: list[Party] = []

    def _unique(self, make: object) -> str:
        assert callable(make)
        while True:
            value = str(make())
            if value not in self.used:
                self.used.add(value)
                return value

    def _person(self) -> str:
        rng = self.rng
        return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))

    def party(self, prefix: str, role: str, tier: int | None, *, copy: Party | None = None,
              shared: tuple[str, ...] = ()) -> Party:  # fmt: skip
        """A new organisation; a shell copies ``shared`` profile facts from ``copy``."""
        rng = self.rng
        self.counters[prefix] = self.counters.get(prefix, 0) + 1
        width = 4 if prefix == "S" else 3
        pid = f"{prefix}{self.counters[prefix]:0{width}d}"
        region, city = rng.choice(CITIES)
        suffix, industry = INDUSTRY[role]
        if self.scenario in SCENARIOS and role in ("core_enterprise", "supplier"):
            core, supplier, _goods = SCENARIOS[self.scenario]
            suffix, industry = core if role == "core_enterprise" else supplier
        name = self._unique(lambda: f"{city}{rng.choice(WORDS)}{rng.choice(WORDS)}{suffix}")
        first17 = self._unique(lambda: f"91{region}{_org_code(rng)}")
        prefix7 = self._unique(lambda: f"69{rng.randrange(10**5):05d}")
        gln = prefix7 + "00000" + gs1_check_digit(prefix7 + "00000")
        accounts = tuple(
            self._unique(lambda: f"6222{rng.randrange(10**15):015d}")
            for _ in range(rng.choice((1, 1, 2)))
        )
        address = self._unique(
            lambda: f"{city}市{rng.choice(ROADS)}{rng.randrange(1, 999)}号{rng.randrange(1, 30)}栋"
        )
        facts = {
            "address": address,
            "legal_representative": self._unique(self._person),
            "phone": self._unique(lambda: f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"),
        }
        if copy is not None:
            facts.update({k: getattr(copy, k) for k in shared})
        bic = self._unique(
            lambda: "".join(rng.choice("ABCDEFGHKMNPRSTW") for _ in range(4)) + "CNSH"
        )
        return Party(
            id=pid, name=name, uscc=first17 + uscc_check_character(first17), gln=gln,
            roles=(role,), tier=tier, accounts=accounts,
            bank_bic=bic if role == "bank" else rng.choice(self.banks).bank_bic,
            address=facts["address"], legal_representative=facts["legal_representative"],
            phone=facts["phone"], industry=industry, city=city,
            shell_of=copy.id if copy is not None else None,
        )  # fmt: skip


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def _catalogue(rng: random.Random, party: Party, scenario: str) -> tuple[Line, ...]:
    goods = SCENARIOS[scenario][2] if scenario in SCENARIOS else ITEMS
    picks = rng.sample(goods, rng.randint(2, 5))
    lines = []
    for i, (name, unit, price) in enumerate(picks, start=1):
        body = "0" + party.company_prefix + f"{rng.randrange(10**5):05d}"
        factor = Decimal(str(round(rng.uniform(0.8, 1.25), 3)))
        lines.append(Line(str(i), body + gs1_check_digit(body), name, Decimal(0), unit,
                          cents(Decimal(price) * factor)))  # fmt: skip
    return tuple(lines)


def _median(seller: Party) -> Decimal:
    if seller.tier == 0:
        return cal.EDGE_MEDIAN_CNY["core"]
    key = f"tier{seller.tier}" if seller.tier is not None and seller.tier <= 3 else "deeper"
    return cal.EDGE_MEDIAN_CNY[key]


def build_network(
    rng: random.Random, *, trades: int, tiers: int, scenario: str = "manufacturing"
) -> Network:
    """Generate the parties and the clean relationships for about ``trades`` trades."""
    make = _Factory(rng, scenario)
    net = Network()
    make.banks = [make.party("B", "bank", None) for _ in range(4)]
    net.banks = list(make.banks)
    net.factory = make
    n_cores = _clamp(trades // 4000, 2, 40)
    net.cores = [make.party("C", "core_enterprise", 0) for _ in range(n_cores)]
    per_tier = 4 * n_cores
    for tier in range(1, tiers + 1):
        net.tiers.append([make.party("S", "supplier", tier) for _ in range(per_tier)])
        per_tier *= 2
    net.distributors = [make.party("D", "distributor", -1) for _ in range(3 * n_cores)]
    net.logistics = [make.party("L", "logistics", None) for _ in range(_clamp(n_cores, 3, 30))]
    net.warehouses = [make.party("W", "warehouse", None)
                      for _ in range(_clamp(n_cores // 2, 2, 15))]  # fmt: skip
    net.parties = [*net.banks, *net.cores, *(p for t in net.tiers for p in t),
                   *net.distributors, *net.logistics, *net.warehouses]  # fmt: skip
    for party in net.parties:
        if party.tier is not None and party.tier >= 0:
            net.catalogue[party.id] = _catalogue(rng, party, scenario)
    buyers_of = [net.cores, *net.tiers[:-1]]
    for tier, sellers in enumerate(net.tiers):
        for seller in sellers:
            for buyer in rng.sample(buyers_of[tier], min(len(buyers_of[tier]), rng.choice((1, 2)))):
                net.edges.append(_edge(rng, net, seller, buyer))
    for distributor in net.distributors:
        for core in rng.sample(net.cores, min(len(net.cores), rng.choice((1, 2)))):
            net.edges.append(_edge(rng, net, core, distributor))
    return net


def _edge(rng: random.Random, net: Network, seller: Party, buyer: Party) -> Edge:
    base = _median(seller) * Decimal(str(round(rng.lognormvariate(0, cal.EDGE_SIGMA), 4)))
    return Edge(seller, buyer, net.catalogue[seller.id], cents(base))


def add_shell(rng: random.Random, net: Network, buyer: Party) -> tuple[Party, tuple[str, ...]]:
    """A RELATED_PARTIES shell supplier sharing one or two profile facts with ``buyer``."""
    shared = tuple(sorted(rng.sample(("address", "legal_representative", "phone"),
                                     rng.choice((1, 2)))))  # fmt: skip
    make = net.factory
    assert make is not None
    tier = (buyer.tier or 0) + 1
    shell = make.party("S", "supplier", tier, copy=buyer, shared=shared)
    net.parties.append(shell)
    net.catalogue[shell.id] = _catalogue(rng, shell, make.scenario)
    return shell, shared
