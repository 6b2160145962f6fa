import { describe, expect, it } from "vitest";
import {
  daysBetween, exposureBy, exposureByScenario, formatMinor, overdueBand, parseFields, pdText, policyRows, portfolioRows, readItemsAt, referrals, tenorBand, toMinor,
  OVERDUE_BANDS, TENOR_BANDS, type FinancingView, type ItemView,
} from "./model";
import { toCsv } from "../supervision/csv";

const money = (amount: string, currency = "CNY") => ({ amount, minor: toMinor(amount), currency });

function fin(id: string, status: string, borrower: string, principal: string | null, item: string | null): FinancingView {
  return {
    financing_id: id, status, item_id: item, holding_id: null, receipt_id: null, borrower_id: borrower,
    bank_id: "bank", currency: "CNY", requested: principal, principal, rate_bps: 450, decision: null,
  };
}

function item(id: string, debtor: string, maturity: string, outstanding: string, holder: [string, string]): ItemView {
  return {
    item_id: id, trade_id: `t-${id}`, debtor, creditor: "tier1", basis: "confirmed", status: "active",
    disputed: false, issue_date: "2026-09-01", maturity_date: maturity, face_value: money("1000000.00"),
    paid: money("0.00"), outstanding: money(outstanding), pending: [],
    holdings: [{ holding_id: `h-${id}`, holder: holder[1], holder_id: holder[0], value: money("1.00"),
      outstanding: money("1.00"), parent_id: null, acquired_from: null, pledge: null }],
  };
}

describe("amounts", () => {
  it("turns decimal strings into minor units without float drift", () => {
    expect(toMinor("225000.00")).toBe(22_500_000);
    expect(toMinor("0.1")).toBe(10);
    expect(toMinor("19.99")).toBe(1999);
    expect(toMinor("7")).toBe(700);
    expect(toMinor(null)).toBe(0);
    expect(toMinor("abc")).toBe(0);
    expect(formatMinor(22_500_000)).toBe("225,000.00");
    expect(formatMinor(5)).toBe("0.05");
    expect(formatMinor(-1999)).toBe("-19.99");
  });
  it("names PDs as percentages", () => {
    expect(pdText(0.0731)).toBe("7.31%");
    expect(pdText(null)).toBeNull();
  });
});

describe("bands", () => {
  it("puts tenors and days overdue in their bands", () => {
    expect([-1, 0, 30, 31, 90, 91, 180, 181].map(tenorBand)).toEqual(
      ["overdue", "0-30", "0-30", "31-90", "31-90", "91-180", "91-180", ">180"]);
    expect([0, 1, 30, 31, 60, 61, 90, 91].map(overdueBand)).toEqual(
      ["current", "1-30", "1-30", "31-60", "31-60", "61-90", "61-90", ">90"]);
    expect(daysBetween("2026-12-07", "2027-01-06")).toBe(30);
    expect(daysBetween("2026-12-07", "2026-11-07")).toBe(-30);
  });
});

describe("portfolio", () => {
  const financings = [
    fin("f1", "active", "s1", "300000.00", "i1"),
    fin("f2", "approved", "s1", "100000.00", "i2"),
    fin("f3", "defaulted", "s2", "50000.00", "i3"),
    fin("f4", "referred", "s3", null, "i1"),
    fin("f5", "declined", "s3", null, "i2"),
    fin("f6", "active", "s4", "25000.00", "unreadable"),
  ];
  const items = new Map<string, ItemView | null>([
    ["i1", item("i1", "Core A", "2027-01-06", "1000000.00", ["s1", "Supplier One"])],
    ["i2", item("i2", "Core B", "2027-05-01", "1000000.00", ["s1", "Supplier One"])],
    ["i3", item("i3", "Core A", "2026-10-08", "500000.00", ["s2", "Supplier Two"])],
    ["unreadable", null],
  ]);
  const rows = portfolioRows(financings, items, "2026-12-07");

  it("keeps only live financings and joins their items", () => {
    expect(rows.map((r) => r.financing_id)).toEqual(["f1", "f2", "f3", "f6"]);
    const [f1, f2, f3, f6] = rows;
    expect(f1).toMatchObject({ borrower: "Supplier One", debtor: "Core A", principal: 30_000_000, days_to_maturity: 30, tenor: "0-30", overdue: "current" });
    expect(f2).toMatchObject({ tenor: "91-180", days_overdue: 0 });
    expect(f3).toMatchObject({ borrower: "Supplier Two", days_overdue: 60, overdue: "31-60", tenor: "overdue" });
    expect(f6).toMatchObject({ borrower: "s4", debtor: "", tenor: "unknown", overdue: "unknown", maturity_date: null });
  });

  it("groups exposure by borrower, largest first, with shares", () => {
    const by = exposureBy(rows, (r) => r.borrower);
    expect(by.map((e) => [e.key, e.count, e.amount])).toEqual([
      ["Supplier One", 2, 40_000_000], ["Supplier Two", 1, 5_000_000], ["s4", 1, 2_500_000],
    ]);
    expect(by.reduce((s, e) => s + e.share, 0)).toBeCloseTo(1);
    expect(by[0].share).toBeCloseTo(40 / 47.5);
  });

  it("groups by debtor (unknown as a dash) and by bands in band order", () => {
    expect(exposureBy(rows, (r) => r.debtor).map((e) => [e.key, e.amount])).toEqual([
      ["Core A", 35_000_000], ["Core B", 10_000_000], ["—", 2_500_000],
    ]);
    expect(exposureBy(rows, (r) => r.tenor, [...TENOR_BANDS, "unknown"]).map((e) => e.key)).toEqual(
      ["overdue", "0-30", "91-180", "unknown"]);
    expect(exposureBy(rows, (r) => r.overdue, [...OVERDUE_BANDS, "unknown"]).map((e) => [e.key, e.count])).toEqual(
      [["current", 2], ["31-60", 1], ["unknown", 1]]);
  });

  it("keeps currencies apart", () => {
    const usd = { ...fin("f9", "active", "s1", "10.00", null), currency: "USD" };
    const by = exposureBy(portfolioRows([...financings, usd], items, "2026-12-07"), (r) => r.borrower);
    expect(by.filter((e) => e.currency === "USD")).toEqual([{ key: "s1", currency: "USD", count: 1, amount: 1000, share: 1 }]);
  });

  it("lists the referrals", () => {
    expect(referrals(financings).map((f) => f.financing_id)).toEqual(["f4"]);
  });
});

describe("exposure by scenario", () => {
  const withScenario = (f: FinancingView, scenario: string | null, debtor: string | null = null) =>
    ({ ...f, scenario, debtor_id: debtor && `id-${debtor}`, debtor_name: debtor });
  const financings = [
    withScenario(fin("a", "active", "s1", "100000.00", "i1"), "agriculture"),
    withScenario(fin("b", "active", "s2", "300000.00", "i2"), "manufacturing"),
    withScenario(fin("c", "approved", "s1", "50000.00", "i3"), "agriculture"),
    withScenario(fin("d", "active", "s3", "400000.00", "i4"), null, "Core Z"),
    withScenario(fin("e", "referred", "s3", "999999.00", "i5"), "medical"),
    { ...withScenario(fin("u", "active", "s1", "10.00", "i6"), "medical"), currency: "USD" },
  ];
  const rows = portfolioRows(financings, new Map(), "2026-12-07");

  it("takes the scenario and, when the item is unread, the debtor from the financing", () => {
    expect(rows.map((r) => [r.financing_id, r.scenario, r.debtor])).toEqual([
      ["a", "agriculture", ""], ["b", "manufacturing", ""], ["c", "agriculture", ""], ["d", "unknown", "Core Z"], ["u", "medical", ""],
    ]);
  });

  it("groups live exposure by scenario per currency, largest first, unknown last", () => {
    const by = exposureByScenario(rows);
    expect(by.map((e) => [e.currency, e.key, e.count, e.amount])).toEqual([
      ["CNY", "manufacturing", 1, 30_000_000], ["CNY", "agriculture", 2, 15_000_000], ["CNY", "unknown", 1, 40_000_000],
      ["USD", "medical", 1, 1000],
    ]);
    expect(by.filter((e) => e.currency === "CNY").reduce((s, e) => s + e.share, 0)).toBeCloseTo(1);
    expect(by[1].share).toBeCloseTo(15 / 85);
    expect(by[3].share).toBe(1);
  });
});

describe("CSV", () => {
  it("quotes, guards formulas and starts with a byte-order mark", () => {
    const text = toCsv<{ a: string; b: number | null }>(
      [{ title: "名称", value: (r) => r.a }, { title: "amount", value: (r) => r.b }],
      [{ a: 'say "hi", ok', b: 1.5 }, { a: "=HYPERLINK()", b: null }, { a: "-12.5", b: -3 }],
    );
    expect(text).toBe('\uFEFF名称,amount\r\n"say ""hi"", ok",1.5\r\n\'=HYPERLINK(),\r\n-12.5,-3\r\n');
  });
});

describe("policy", () => {
  it("shows limits as amounts, basis points as percentages and no limit as null", () => {
    const rows = policyRows({
      bank_id: "b", currency: "CNY", refer_pd: 0.1, limit_per_borrower: 500_000_000, limit_per_debtor: null,
      advance_rate_bps: { confirmed: 9000, verified: 8000 }, base_rate_bps: 350, scenarios: ["manufacturing"],
    });
    expect(Object.fromEntries(rows.map((r) => [r.field, r.value]))).toEqual({
      currency: "CNY", refer_pd: "0.1", limit_per_borrower: "CNY 5,000,000.00", limit_per_debtor: null,
      advance_rate_bps: "confirmed 90.00%, verified 80.00%", base_rate_bps: "3.50%", scenarios: '["manufacturing"]',
    });
  });
  it("takes a JSON object of fields and refuses anything else", () => {
    expect(parseFields('{"refer_pd": 0.05}')).toEqual({ fields: { refer_pd: 0.05 } });
    expect(parseFields("[1]")).toHaveProperty("error");
    expect(parseFields("{}")).toHaveProperty("error");
    expect(parseFields("{refer_pd")).toHaveProperty("error");
  });
});

describe("readItemsAt", () => {
  it("reads the items in one request per 200 ids, each once, null for one not answered", async () => {
    const asked: string[][] = [];
    const ids = Array.from({ length: 450 }, (_, i) => `item-${i}`);
    const found = await readItemsAt([...ids, "item-3", "gone"], async (joined) => {
      const some = joined.split(",");
      asked.push(some);
      return some.filter((id) => id !== "gone" && id !== "item-7").reverse().map((item_id) => ({ item_id }));
    });
    expect(asked.map((a) => a.length)).toEqual([200, 200, 51]);
    expect(new Set(asked.flat()).size).toBe(451);
    expect(found.size).toBe(451);
    expect(found.get("item-449")).toEqual({ item_id: "item-449" });
    expect(found.get("item-7")).toBeNull();
    expect(found.get("gone")).toBeNull();
    expect(await readItemsAt([], async () => { throw new Error("no read for no ids"); })).toEqual(new Map());
  });
});
