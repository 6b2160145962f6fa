"""The business scenarios FourFlow serves."""

from __future__ import annotations

from enum import StrEnum


class Scenario(StrEnum):
    """Where a trade comes from; policies and regulator figures are kept per scenario."""

    MANUFACTURING = "manufacturing"
    CULTURE_TOURISM = "culture_tourism"
    TRAVEL = "travel"
    AGRICULTURE = "agriculture"
    MEDICAL = "medical"
    BULK_COMMODITIES = "bulk_commodities"
    CROSS_BORDER = "cross_border"
    GOVERNMENT_PROCUREMENT = "government_procurement"


SCENARIO_LABELS_ZH: dict[Scenario, str] = {
    Scenario.MANUFACTURING: "制造业",
    Scenario.CULTURE_TOURISM: "文化旅游",
    Scenario.TRAVEL: "出行",
    Scenario.AGRICULTURE: "农业",
    Scenario.MEDICAL: "医疗",
    Scenario.BULK_COMMODITIES: "大宗商品",
    Scenario.CROSS_BORDER: "跨境贸易",
    Scenario.GOVERNMENT_PROCUREMENT: "政府采购",
}
