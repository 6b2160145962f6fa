import { describe, expect, it } from "vitest";
import { formatMinor } from "../bank/model";
import {
  amountsText, concentration, enterprisesFinanced, nonPerforming, platformFinancings, ratio, scenarioRows,
  settlementRows, termRows, type Bucket, type PlatformTrade, type ScenarioFigures, type Settlement,
} from "./figures";

const bucket = (count: number, cny: number): Bucket => ({ count, amount: cny ? { CNY: cny } : {} });
const settlement: Settlement = {
  as_of: "2026-12-07", due_today: bucket(1, 100), paid_on_time: bucket(2, 200), paid_late: bucket(1, 50),
  overdue_by_age: { "1-30": bucket(1, 10_000), "31-60": bucket(0, 0), "61-90": bucket(0, 0), ">90": bucket(1, 30_000) },
  defaulted: bucket(1, 20_000), without_locked_route: bucket(0, 0),
  routes: { locked: 3, changed: 1, items_changed: 1 }, margin_calls: { open: 0, met: 0, sold: 0, opened: 0 },
  bypassed_route: { count: 1, items: 1, amount: 500 },
};
const fig = (extra: Partial<ScenarioFigures>): ScenarioFigures => ({
  trades: 1, verified: 1, failed: 0, items_issued: 1, issued_amount: { CNY: "1000000.00" }, financed: 1,
  financed_amount: { CNY: "225000.00" }, outstanding_amount: { CNY: "1000.00" }, settled: 0, settled_amount: {},
  overdue: 0, overdue_amount: {}, declined: 0, referred: 0, risk_alerts: 0,
  term_distribution: { "<=90": 1, "91-183": 0, "184-365": 0, ">365": 0 }, days_to_pay: { settled: 0, mean: null, over_60: 0 },
  ...extra,
});

describe("regulator figures", () => {
  it("orders scenarios with all last", () => {
    const rows = scenarioRows({ all: fig({}), manufacturing: fig({}), agriculture: fig({}) });
    expect(rows.map((r) => r.scenario)).toEqual(["agriculture", "manufacturing", "all"]);
  });
  it("writes amounts per currency and ratios per currency", () => {
    expect(amountsText({ CNY: "225000.00", USD: "10" }, formatMinor)).toBe("CNY 225,000.00 · USD 10.00");
    expect(amountsText({}, formatMinor)).toBe("—");
    expect(ratio({ CNY: "250.00" }, { CNY: "1000.00", USD: "0.00" })).toEqual({ CNY: 0.25 });
  });
  it("puts terms against 6 months and a year", () => {
    expect(termRows({ "<=90": 3, "91-183": 1, "184-365": 0, ">365": 0 })).toEqual([
      { bucket: "<=90", count: 3, share: 0.75, limit: "within" },
      { bucket: "91-183", count: 1, share: 0.25, limit: "within" },
      { bucket: "184-365", count: 0, share: 0, limit: "beyond6m" },
      { bucket: ">365", count: 0, share: 0, limit: "beyond1y" },
    ]);
  });
  it("counts non-performing as defaulted plus over 90 days overdue", () => {
    expect(nonPerforming(settlement, { CNY: "1000.00" })).toEqual({ CNY: { minor: 50_000, ratio: 0.5 } });
    expect(nonPerforming(undefined, {})).toEqual({});
  });
  it("lists the settlement figures", () => {
    const rows = settlementRows(settlement);
    expect(rows.map((r) => r.key)).toEqual([
      "due_today", "paid_on_time", "paid_late", "overdue 1-30", "overdue 31-60", "overdue 61-90", "overdue >90",
      "defaulted", "without_locked_route", "bypassed_route",
    ]);
    expect(rows[6]).toEqual({ key: "overdue >90", count: 1, amount: { CNY: 30_000 } });
  });
});

describe("concentration", () => {
  const trades: PlatformTrade[] = [
    { trade_id: "t1", scenario: "manufacturing", seller_id: "s1", buyer_id: "coreA", status: "verified",
      items: [{ item_id: "i1", currency: "CNY", face_value: "1000.00", outstanding: "1000.00", status: "active", maturity_date: "2027-01-01" }],
      financings: [
        { financing_id: "f1", item_id: "i1", bank_id: "b1", status: "active", principal: "300.00" },
        { financing_id: "f2", item_id: "i1", bank_id: "b2", status: "declined", principal: "0.00" },
      ] },
    { trade_id: "t2", scenario: "manufacturing", seller_id: "s2", buyer_id: "coreB", status: "verified",
      items: [{ item_id: "i2", currency: "CNY", face_value: "1000.00", outstanding: "0.00", status: "settled", maturity_date: "2026-11-01" }],
      financings: [{ financing_id: "f3", item_id: "i2", bank_id: "b1", status: "repaid", principal: "100.00" }] },
  ];
  it("takes the financed financings of a platform's trades with their core enterprise", () => {
    const rows = platformFinancings(trades);
    expect(rows.map((r) => [r.financing_id, r.core, r.minor])).toEqual([["f1", "coreA", 30_000], ["f3", "coreB", 10_000]]);
    const byCore = concentration(rows, (r) => r.core, (r) => r.currency, (r) => r.minor);
    expect(byCore.map((s) => [s.key, s.share])).toEqual([["coreA", 0.75], ["coreB", 0.25]]);
    const byBank = concentration(rows, (r) => r.bank_id, (r) => r.currency, (r) => r.minor);
    expect(byBank).toEqual([{ key: "b1", currency: "CNY", count: 2, amount: 40_000, share: 1 }]);
  });
  it("counts distinct enterprises financed", () => {
    expect(enterprisesFinanced([
      { borrower_id: "a", status: "active" }, { borrower_id: "a", status: "repaid" },
      { borrower_id: "b", status: "declined" }, { borrower_id: "c", status: "defaulted" },
    ])).toBe(2);
  });
});
