// Data shaping of the supervision API (GET /supervision/figures, /trades, /evidence, /network):
// the figure blocks as KPI and chart rows, the drill-down figures, the trade rows flattened for
// tables and exports, the supply network as an ECharts graph laid out by tier.
import { toMinor } from "../bank/model";

export type Amounts = Record<string, string>;
export interface Sums { count: number; amount: Amounts }
export interface ShareRow { org_id: string; name: string; currency: string; count: number; amount: string; share: number }
export interface TierRow { tier: number | null; enterprises: number; count: number; amount: Amounts }
export interface Rates { count: number; mean_pct: number | null; weighted_pct: number | null; min_pct: number | null; max_pct: number | null }

export interface Block {
  enterprises_registered: number;
  enterprises_financed: number;
  smes_financed_by_tier: TierRow[];
  trades: number;
  verified: number;
  failed: number;
  items: Sums;
  outstanding: Sums;
  settled: Sums;
  overdue: Sums;
  overdue_ratio: Record<string, number>;
  non_performing: Sums;
  non_performing_ratio: Record<string, number>;
  financing: { issued: Sums; outstanding: Sums; settled: Sums; declined: number; referred: number };
  rates: Rates;
  days_to_pay: { settled: number; mean: number | null; within_60: number; over_60: number };
  term_distribution: Record<string, number>;
  concentration: { core: ShareRow[]; bank: ShareRow[] };
}

export interface ModelAlert { id: string; kind: string; severity: string; metric: string; value: number; threshold: number; model_id: string | null; bank_id: string | null; as_of: string; message: string }
export interface Alerts { model: number; model_by_kind: Record<string, number>; model_latest: ModelAlert[]; fraud_signals?: number; trades_signalled?: number; fraud_by_type?: Record<string, number> }

export interface Figures {
  as_of: string;
  platform_id: string | null;
  scenario: string | null;
  all: Block;
  by_scenario: Record<string, Block>;
  by_platform?: (Block & { platform_id: string; name: string })[];
  alerts: Alerts;
}

export interface TradeRow {
  trade_id: string; scenario: string; status: string; score: number | null;
  seller_id: string; seller: string; seller_tier: number | null; buyer_id: string; buyer: string;
  items: { item_id: string; currency: string; face_value: string; outstanding: string; status: string; issue_date: string; maturity_date: string; term_days: number }[];
  financings: { financing_id: string; item_id: string; bank_id: string; bank: string; borrower_id: string; status: string; rate_pct: number; principal: string }[];
}
export interface TradePage { figure: string; key: string | null; total: number; offset: number; limit: number; rows: TradeRow[] }

export interface ChainOpView { op_id: string; kind: string; status: string; tx_hash: string | null; block_number: number | null; error: string | null }
export interface Evidence {
  trade_id: string; scenario: string; status: string; score: number | null; report_hash: string | null; seller: string; buyer: string;
  documents: { document_id: string; kind: string; number: string; issue_date: string; submitted_by: string | null; fingerprint: string; business_key: string | null; signed: boolean; anchor: { batch_id: string; operations: ChainOpView[] } | null }[];
  items: { item_id: string; status: string; basis: string; currency: string; face_value: string; outstanding: string; report_hash: string; chain: ChainOpView[] }[];
  financings: { financing_id: string; bank: string; status: string; rate_pct: number; chain: ChainOpView[] }[];
}

export interface Network {
  nodes: { id: string; name: string; types: string[]; tier: number | null }[];
  edges: { source: string; target: string; trades: number }[];
  tiers: { tier: number | null; organisations: number }[];
}

/** A drill-down: the figure the API filters by, and its key. */
export interface Drill { figure: string; key?: string }

/** Ratios per currency as "CNY 1.25%" text. */
export function ratioText(r: Record<string, number> | undefined): string {
  const parts = Object.entries(r ?? {}).map(([c, v]) => `${c} ${(v * 100).toFixed(2)}%`);
  return parts.length ? parts.join(" · ") : "—";
}

/** Count and amounts as "12 · CNY 1,000.00" (amounts formatted by `format` from minor units). */
export function sumsText(s: Sums, format: (minor: number) => string): string {
  const amounts = Object.entries(s.amount).map(([c, v]) => `${c} ${format(toMinor(v))}`);
  return amounts.length ? `${s.count} · ${amounts.join(" · ")}` : String(s.count);
}

/** The rates as "4.35% (3.80%–6.00%)", or "—" with none. */
export function ratesText(r: Rates): string {
  if (!r.count || r.mean_pct === null) return "—";
  return `${r.mean_pct.toFixed(2)}% (${(r.min_pct ?? 0).toFixed(2)}%–${(r.max_pct ?? 0).toFixed(2)}%)`;
}

/** Scenario rows for the chart and table: every scenario, then the whole ("all") last. */
export function scenarioBlocks(f: Figures): (Block & { scenario: string })[] {
  return [
    ...Object.entries(f.by_scenario).sort(([a], [b]) => a.localeCompare(b)).map(([scenario, b]) => ({ scenario, ...b })),
    { scenario: "all", ...f.all },
  ];
}

/** Tier rows sorted by tier (none last), with the amount in minor units of one currency. */
export function tierRows(rows: TierRow[], currency = "CNY"): { tier: number | null; enterprises: number; count: number; minor: number }[] {
  return [...rows]
    .sort((a, b) => (a.tier === null ? 1 : b.tier === null ? -1 : a.tier - b.tier))
    .map((r) => ({ tier: r.tier, enterprises: r.enterprises, count: r.count, minor: toMinor(r.amount[currency]) }));
}

/** Days to pay against the 60-day rule, as pie slices (within, over). */
export function daysToPaySlices(d: Block["days_to_pay"]): { key: "within_60" | "over_60"; value: number }[] {
  return [{ key: "within_60", value: d.within_60 }, { key: "over_60", value: d.over_60 }];
}

/** A trade's rows flattened for tables and exports: one per financing (or one per trade). */
export function flatRows(rows: TradeRow[]): Record<string, string | number | null>[] {
  return rows.flatMap((r): Record<string, string | number | null>[] => {
    const item = r.items[0];
    const base = {
      trade_id: r.trade_id, scenario: r.scenario, status: r.status, seller: r.seller, seller_tier: r.seller_tier,
      buyer: r.buyer, item_id: item?.item_id ?? null, face_value: item ? `${item.currency} ${item.face_value}` : null,
      outstanding: item?.outstanding ?? null, item_status: item?.status ?? null, maturity_date: item?.maturity_date ?? null,
      term_days: item?.term_days ?? null,
    };
    if (!r.financings.length) return [{ ...base, financing_id: null, bank: null, financing_status: null, rate_pct: null, principal: null }];
    return r.financings.map((f) => ({ ...base, financing_id: f.financing_id, bank: f.bank, financing_status: f.status, rate_pct: f.rate_pct, principal: f.principal }));
  });
}

/** The supply network as an ECharts graph: nodes placed in columns by tier (core enterprises
 *  at the right, their suppliers to the left), spread evenly within a column; organisations
 *  with no path to a core enterprise in a last column; edges seller -> buyer, wider with
 *  more trades. */
export function networkGraph(n: Network, width = 1000, height = 600) {
  const tiers = [...new Set(n.nodes.map((x) => x.tier))].sort((a, b) => (a === null ? 1 : b === null ? -1 : b - a));
  const columns = new Map<number | null, string[]>();
  for (const t of tiers) columns.set(t, n.nodes.filter((x) => x.tier === t).map((x) => x.id));
  const step = tiers.length > 1 ? width / (tiers.length - 1) : 0;
  const place = new Map<string, { x: number; y: number }>();
  tiers.forEach((t, i) => {
    const ids = columns.get(t) ?? [];
    ids.forEach((id, j) => place.set(id, { x: Math.round(i * step), y: Math.round(((j + 1) * height) / (ids.length + 1)) }));
  });
  const most = Math.max(1, ...n.edges.map((e) => e.trades));
  return {
    categories: tiers.map((t) => ({ name: t === null ? "none" : String(t) })),
    nodes: n.nodes.map((x) => ({
      id: x.id, name: x.name, category: tiers.indexOf(x.tier), ...place.get(x.id),
      symbolSize: x.tier === 0 ? 22 : 12, value: x.tier,
    })),
    links: n.edges.map((e) => ({ source: e.source, target: e.target, value: e.trades, lineStyle: { width: 0.5 + (3 * e.trades) / most } })),
  };
}
