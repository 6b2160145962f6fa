// The regulator's and the local government's figures as the API answers them
// (services/supervision.py ScenarioFigures.as_dict, settlement_figures.figures,
// scenario_platforms.PlatformFigures.as_dict and trades) and their shaping for the
// dashboard's charts and tables (tested in figures.test.ts).
import { toMinor } from "../bank/model";

export type Amounts = Record<string, string>; // currency -> decimal string
export interface Bucket {
  count: number;
  amount: Record<string, number>; // currency -> minor units
}

export interface ScenarioFigures {
  trades: number;
  verified: number;
  failed: number;
  items_issued: number;
  issued_amount: Amounts;
  financed: number;
  financed_amount: Amounts;
  outstanding_amount: Amounts;
  settled: number;
  settled_amount: Amounts;
  overdue: number;
  overdue_amount: Amounts;
  declined: number;
  referred: number;
  risk_alerts: number;
  term_distribution: Record<string, number>;
  days_to_pay: { settled: number; mean: number | null; over_60: number };
  settlement?: Settlement;
}

export interface Settlement {
  as_of: string;
  due_today: Bucket;
  paid_on_time: Bucket;
  paid_late: Bucket;
  overdue_by_age: Record<string, Bucket>;
  defaulted: Bucket;
  without_locked_route: Bucket;
  routes: { locked: number; changed: number; items_changed: number };
  margin_calls: { open: number; met: number; sold: number; opened: number };
  bypassed_route: { count: number; items: number; amount: number };
}

export interface PlatformFigures {
  platform_id: string;
  as_of: string;
  members: number;
  banks: number;
  products: number;
  trades: number;
  verified: number;
  items_issued: number;
  issued_amount: Amounts;
  outstanding_amount: Amounts;
  financings: number;
  financed: number;
  financed_amount: Amounts;
  declined: number;
  referred: number;
  settled: number;
  overdue: number;
  overdue_amount: Amounts;
  by_scenario: Record<string, { trades: number; items: number }>;
}

export interface PlatformTrade {
  trade_id: string;
  scenario: string;
  seller_id: string;
  buyer_id: string;
  status: string;
  items: { item_id: string; currency: string; face_value: string; outstanding: string; status: string; maturity_date: string }[];
  financings: { financing_id: string; item_id: string; bank_id: string; status: string; principal: string }[];
}

/** Amounts per currency as text: "CNY 225,000.00 · USD 10.00", or a dash. */
export function amountsText(a: Amounts | undefined, format: (minor: number) => string): string {
  const entries = Object.entries(a ?? {});
  return entries.length ? entries.map(([c, v]) => `${c} ${format(toMinor(v))}`).join(" · ") : "—";
}

/** `part` over `whole` per currency (0..1), for currencies with something in `whole`. */
export function ratio(part: Amounts | undefined, whole: Amounts | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [c, v] of Object.entries(whole ?? {})) {
    const w = toMinor(v);
    if (w > 0) out[c] = toMinor(part?.[c]) / w;
  }
  return out;
}

/** One row per scenario, `all` last (the regulator's table). */
export function scenarioRows(figures: Record<string, ScenarioFigures>): (ScenarioFigures & { scenario: string })[] {
  return Object.entries(figures)
    .map(([scenario, f]) => ({ ...f, scenario }))
    .sort((a, b) => Number(a.scenario === "all") - Number(b.scenario === "all") || a.scenario.localeCompare(b.scenario));
}

/** The term buckets (issue to maturity) against 银发〔2025〕77号: 6 months in principle, 1 year
 * at most. */
export const TERM_LIMIT: Record<string, "within" | "beyond6m" | "beyond1y"> = {
  "<=90": "within", "91-183": "within", "184-365": "beyond6m", ">365": "beyond1y",
};

export function termRows(dist: Record<string, number>): { bucket: string; count: number; share: number; limit: string }[] {
  const total = Object.values(dist).reduce((s, n) => s + n, 0);
  return Object.entries(dist).map(([bucket, count]) => ({
    bucket, count, share: total ? count / total : 0, limit: TERM_LIMIT[bucket] ?? "within",
  }));
}

/** Non-performing: defaulted plus overdue more than 90 days, over what is outstanding, per
 * currency (the settlement figures are minor units; the outstanding decimal strings). */
export function nonPerforming(s: Settlement | undefined, outstanding: Amounts | undefined): Record<string, { minor: number; ratio: number | null }> {
  const out: Record<string, { minor: number; ratio: number | null }> = {};
  if (!s) return out;
  const add = (b: Bucket | undefined) => {
    for (const [c, v] of Object.entries(b?.amount ?? {})) out[c] = { minor: (out[c]?.minor ?? 0) + v, ratio: null };
  };
  add(s.defaulted);
  add(s.overdue_by_age[">90"]);
  for (const [c, v] of Object.entries(out)) {
    const whole = toMinor(outstanding?.[c]);
    v.ratio = whole > 0 ? v.minor / whole : null;
  }
  return out;
}

/** Settlement figures as rows: what, count, amount (minor units per currency). */
export function settlementRows(s: Settlement): { key: string; count: number; amount: Record<string, number> }[] {
  return [
    { key: "due_today", ...s.due_today },
    { key: "paid_on_time", ...s.paid_on_time },
    { key: "paid_late", ...s.paid_late },
    ...Object.entries(s.overdue_by_age).map(([band, b]) => ({ key: `overdue ${band}`, ...b })),
    { key: "defaulted", ...s.defaulted },
    { key: "without_locked_route", ...s.without_locked_route },
    { key: "bypassed_route", count: s.bypassed_route.count, amount: { CNY: s.bypassed_route.amount } },
  ];
}

export interface Share {
  key: string;
  currency: string;
  count: number;
  amount: number; // minor units
  share: number;
}

/** Financed principal grouped by `keyOf` per currency, largest first (concentration). */
export function concentration<T>(rows: T[], keyOf: (r: T) => string, currencyOf: (r: T) => string, minorOf: (r: T) => number): Share[] {
  const groups = new Map<string, Share>();
  const totals = new Map<string, number>();
  for (const r of rows) {
    const key = keyOf(r) || "—";
    const currency = currencyOf(r);
    const id = `${currency}\u0000${key}`;
    const g = groups.get(id) ?? { key, currency, count: 0, amount: 0, share: 0 };
    g.count += 1;
    g.amount += minorOf(r);
    groups.set(id, g);
    totals.set(currency, (totals.get(currency) ?? 0) + minorOf(r));
  }
  return [...groups.values()]
    .map((g) => ({ ...g, share: totals.get(g.currency) ? g.amount / (totals.get(g.currency) as number) : 0 }))
    .sort((a, b) => a.currency.localeCompare(b.currency) || b.amount - a.amount || a.key.localeCompare(b.key));
}

const FINANCED = new Set(["approved", "active", "repaid", "defaulted"]);

/** A platform's financed financings with the trade's buyer (the core enterprise) and the
 * item's currency: the rows its concentration is computed from. */
export function platformFinancings(trades: PlatformTrade[]) {
  return trades.flatMap((t) =>
    t.financings
      .filter((f) => FINANCED.has(f.status))
      .map((f) => ({
        ...f,
        trade_id: t.trade_id,
        core: t.buyer_id,
        seller: t.seller_id,
        currency: t.items.find((i) => i.item_id === f.item_id)?.currency ?? "CNY",
        minor: toMinor(f.principal),
      })),
  );
}

/** Distinct enterprises financed (borrowers of financings that lent). */
export function enterprisesFinanced(financings: { borrower_id: string; status: string }[]): number {
  return new Set(financings.filter((f) => FINANCED.has(f.status)).map((f) => f.borrower_id)).size;
}
