import { describe, expect, it } from "vitest";
import { formatMinor } from "../bank/model";
import {
  daysToPaySlices, flatRows, networkGraph, ratesText, ratioText, scenarioBlocks, sumsText, tierRows,
  type Block, type Figures, type Sums, type TradeRow,
} from "./model";

const sums = (count: number, cny?: string): Sums => ({ count, amount: cny ? { CNY: cny } : {} });
const block = (extra: Partial<Block> = {}): Block => ({
  enterprises_registered: 3, enterprises_financed: 1,
  smes_financed_by_tier: [{ tier: null, enterprises: 1, count: 1, amount: { CNY: "10.00" } }, { tier: 2, enterprises: 1, count: 2, amount: { CNY: "200.50" } }, { tier: 1, enterprises: 2, count: 3, amount: { CNY: "1000.00" } }],
  trades: 10, verified: 8, failed: 2, items: sums(5, "5000.00"), outstanding: sums(4, "4000.00"), settled: sums(1, "1000.00"),
  overdue: sums(1, "500.00"), overdue_ratio: { CNY: 0.125 }, non_performing: sums(0), non_performing_ratio: { CNY: 0 },
  financing: { issued: sums(2, "1500.00"), outstanding: sums(1, "800.00"), settled: sums(1, "700.00"), declined: 1, referred: 0 },
  rates: { count: 2, mean_pct: 4.35, weighted_pct: 4.4, min_pct: 3.8, max_pct: 4.9 },
  days_to_pay: { settled: 3, mean: 41.5, within_60: 2, over_60: 1 },
  term_distribution: { "<=90": 3, "91-183": 1, "184-365": 1, ">365": 0 },
  concentration: { core: [], bank: [] },
  ...extra,
});

describe("supervision figures", () => {
  it("writes counts with amounts, ratios and rates", () => {
    expect(sumsText(sums(2, "1500.00"), formatMinor)).toBe("2 · CNY 1,500.00");
    expect(sumsText(sums(0), formatMinor)).toBe("0");
    expect(ratioText({ CNY: 0.125, USD: 0 })).toBe("CNY 12.50% · USD 0.00%");
    expect(ratioText({})).toBe("—");
    expect(ratesText(block().rates)).toBe("4.35% (3.80%–4.90%)");
    expect(ratesText({ count: 0, mean_pct: null, weighted_pct: null, min_pct: null, max_pct: null })).toBe("—");
  });
  it("orders scenarios with the whole last", () => {
    const f: Figures = { as_of: "2026-12-07", platform_id: null, scenario: null, all: block(), alerts: { model: 0, model_by_kind: {}, model_latest: [] },
      by_scenario: { manufacturing: block({ trades: 7 }), agriculture: block({ trades: 3 }) } };
    expect(scenarioBlocks(f).map((r) => [r.scenario, r.trades])).toEqual([["agriculture", 3], ["manufacturing", 7], ["all", 10]]);
  });
  it("sorts tiers with none last and keeps amounts exact in minor units", () => {
    expect(tierRows(block().smes_financed_by_tier)).toEqual([
      { tier: 1, enterprises: 2, count: 3, minor: 100_000 },
      { tier: 2, enterprises: 1, count: 2, minor: 20_050 },
      { tier: null, enterprises: 1, count: 1, minor: 1_000 },
    ]);
    expect(daysToPaySlices(block().days_to_pay)).toEqual([{ key: "within_60", value: 2 }, { key: "over_60", value: 1 }]);
  });
  it("flattens a trade to one row per financing", () => {
    const row: TradeRow = {
      trade_id: "t1", scenario: "manufacturing", status: "verified", score: 97, seller_id: "s", seller: "Seller", seller_tier: 1,
      buyer_id: "b", buyer: "Core", items: [{ item_id: "i1", currency: "CNY", face_value: "1000.00", outstanding: "1000.00", status: "active", issue_date: "2026-11-01", maturity_date: "2027-01-30", term_days: 90 }],
      financings: [
        { financing_id: "f1", item_id: "i1", bank_id: "k", bank: "Bank", borrower_id: "s", status: "declined", rate_pct: 0, principal: "0.00" },
        { financing_id: "f2", item_id: "i1", bank_id: "k", bank: "Bank", borrower_id: "s", status: "active", rate_pct: 4.35, principal: "800.00" },
      ],
    };
    const flat = flatRows([row, { ...row, trade_id: "t2", items: [], financings: [] }]);
    expect(flat.map((r) => [r.trade_id, r.financing_id, r.face_value])).toEqual([["t1", "f1", "CNY 1000.00"], ["t1", "f2", "CNY 1000.00"], ["t2", null, null]]);
  });
  it("lays the network out in columns by tier, core enterprises at the right", () => {
    const g = networkGraph({
      nodes: [
        { id: "core", name: "Core", types: ["core_enterprise"], tier: 0 },
        { id: "a", name: "A", types: ["enterprise"], tier: 1 },
        { id: "b", name: "B", types: ["enterprise"], tier: 1 },
        { id: "c", name: "C", types: ["enterprise"], tier: 2 },
        { id: "x", name: "X", types: ["enterprise"], tier: null },
      ],
      edges: [{ source: "a", target: "core", trades: 4 }, { source: "c", target: "a", trades: 1 }],
      tiers: [],
    }, 300, 300);
    const at = Object.fromEntries(g.nodes.map((n) => [n.id, [n.x, n.y]]));
    expect(g.categories.map((c) => c.name)).toEqual(["2", "1", "0", "none"]);
    expect(at.c[0]).toBe(0);
    expect(at.a[0]).toBe(100);
    expect(at.core[0]).toBe(200);
    expect(at.x[0]).toBe(300);
    expect([at.a[1], at.b[1]]).toEqual([100, 200]);
    expect(g.links[0].lineStyle.width).toBeCloseTo(3.5);
    expect(g.links[1].lineStyle.width).toBeCloseTo(1.25);
  });
});
