// The shapes the API answers for a bank's screens (its routes declare no response model, so
// the generated client types them as plain objects: these follow business_routes.py's
// _financing_view and services/items/views.py's render_item) and the data shaping for the
// portfolio's charts and tables (tested in model.test.ts).

export interface Reason {
  code: string;
  message: string;
}

export interface Decision {
  outcome: "approve" | "decline" | "refer" | string;
  reasons: Reason[];
  decided_by: string | null;
  note: string | null;
  pd: number | null;
  input_hash: string | null;
}

export interface FinancingView {
  financing_id: string;
  status: string;
  item_id: string | null;
  holding_id: string | null;
  receipt_id: string | null;
  borrower_id: string;
  bank_id: string;
  currency: string;
  requested: string | null;
  principal: string | null;
  rate_bps: number | null;
  /** The financed item's trade's scenario, and its debtor (GET /financings and /financings/{id};
   * null for a goods financing). */
  scenario?: string | null;
  debtor_id?: string | null;
  debtor_name?: string | null;
  decision: Decision | null;
  chain?: { state: string; refusal: string | null };
  awaiting_approval?: { proposal_id: string; proposed_by: string };
}

export interface MoneyView {
  amount: string;
  minor: number;
  currency: string;
}

export interface HoldingView {
  holding_id: string;
  holder: string | null;
  holder_id: string;
  value: MoneyView;
  outstanding: MoneyView;
  parent_id: string | null;
  acquired_from: string | null;
  pledge: {
    bank: string | null;
    bank_id: string | null;
    principal: MoneyView;
    interest: MoneyView;
    rate_bps: number;
    status: string;
    financed_principal: MoneyView | null;
  } | null;
}

export interface ItemView {
  item_id: string;
  trade_id: string;
  debtor: string | null;
  creditor: string | null;
  basis: string;
  status: string;
  disputed: boolean;
  issue_date: string;
  maturity_date: string;
  face_value: MoneyView;
  paid: MoneyView;
  outstanding: MoneyView;
  holdings: HoldingView[];
  pending: { op_id: string; op: string; status: string }[];
}

/** Financings that are the bank's exposure: lent or about to be (the pledge queued). */
export const LIVE = new Set(["approved", "active", "defaulted"]);

/** A decimal string ("225000.00") as integer minor units (cents), without float drift. */
export function toMinor(amount: string | null | undefined): number {
  if (!amount) return 0;
  const m = /^(-?)(\d+)(?:\.(\d{1,2})\d*)?$/.exec(amount.trim());
  if (!m) return 0;
  const cents = Number(m[2]) * 100 + Number((m[3] ?? "").padEnd(2, "0"));
  return m[1] ? -cents : cents;
}

/** Minor units as a grouped decimal amount ("225,000.00"). */
export function formatMinor(minor: number): string {
  const sign = minor < 0 ? "-" : "";
  const abs = Math.abs(minor);
  const units = Math.floor(abs / 100).toLocaleString("en-US");
  return `${sign}${units}.${String(abs % 100).padStart(2, "0")}`;
}

const DAY_MS = 86_400_000;

/** Whole days from `from` to `to` (ISO dates). */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
}

/** Remaining tenor bands (days to maturity). */
export const TENOR_BANDS = ["overdue", "0-30", "31-90", "91-180", ">180"] as const;
export type TenorBand = (typeof TENOR_BANDS)[number];

export function tenorBand(daysToMaturity: number): TenorBand {
  if (daysToMaturity < 0) return "overdue";
  if (daysToMaturity <= 30) return "0-30";
  if (daysToMaturity <= 90) return "31-90";
  return daysToMaturity <= 180 ? "91-180" : ">180";
}

/** Days-past-due bands (the settlement figures' bands: services/settlement_figures.py). */
export const OVERDUE_BANDS = ["current", "1-30", "31-60", "61-90", ">90"] as const;
export type OverdueBand = (typeof OVERDUE_BANDS)[number];

export function overdueBand(daysOverdue: number): OverdueBand {
  if (daysOverdue <= 0) return "current";
  if (daysOverdue <= 30) return "1-30";
  if (daysOverdue <= 60) return "31-60";
  return daysOverdue <= 90 ? "61-90" : ">90";
}

/** One live financing with what its item says (null when the item could not be read). */
export interface PortfolioRow {
  financing_id: string;
  status: string;
  borrower: string;
  borrower_id: string;
  bank_id: string;
  debtor: string;
  scenario: string; // "unknown" when the API gave none
  item_id: string | null;
  currency: string;
  principal: number; // minor units
  rate_bps: number | null;
  maturity_date: string | null;
  days_to_maturity: number | null;
  days_overdue: number;
  tenor: TenorBand | "unknown";
  overdue: OverdueBand | "unknown";
}

/** The portfolio's rows: live financings joined with their items as of `today` (ISO date). */
export function portfolioRows(
  financings: FinancingView[],
  items: ReadonlyMap<string, ItemView | null>,
  today: string,
): PortfolioRow[] {
  return financings
    .filter((f) => LIVE.has(f.status))
    .map((f) => {
      const item = f.item_id ? items.get(f.item_id) ?? null : null;
      const holder = item?.holdings.find((h) => h.holder_id === f.borrower_id);
      const settled = item ? item.outstanding.minor === 0 || item.status === "settled" : false;
      const toMaturity = item ? daysBetween(today, item.maturity_date) : null;
      const overdueDays = toMaturity === null || settled ? 0 : Math.max(0, -toMaturity);
      return {
        financing_id: f.financing_id,
        status: f.status,
        borrower: holder?.holder ?? f.borrower_id,
        borrower_id: f.borrower_id,
        bank_id: f.bank_id,
        debtor: item?.debtor ?? f.debtor_name ?? "",
        scenario: f.scenario || "unknown",
        item_id: f.item_id,
        currency: f.currency,
        principal: toMinor(f.principal),
        rate_bps: f.rate_bps,
        maturity_date: item?.maturity_date ?? null,
        days_to_maturity: toMaturity,
        days_overdue: overdueDays,
        tenor: toMaturity === null ? "unknown" : settled ? tenorBand(Math.max(0, toMaturity)) : tenorBand(toMaturity),
        overdue: item ? overdueBand(overdueDays) : "unknown",
      };
    });
}

export interface Exposure {
  key: string;
  currency: string;
  count: number;
  amount: number; // minor units
  share: number; // of the currency's total, 0..1
}

/** Exposure (principal) grouped by `keyOf`, per currency, largest first; `order` fixes the
 * order of known keys (bands) instead. */
export function exposureBy(
  rows: PortfolioRow[],
  keyOf: (r: PortfolioRow) => string,
  order?: readonly string[],
): Exposure[] {
  const groups = new Map<string, Exposure>();
  const totals = new Map<string, number>();
  for (const r of rows) {
    const key = keyOf(r) || "—";
    const id = `${r.currency}\u0000${key}`;
    const g = groups.get(id) ?? { key, currency: r.currency, count: 0, amount: 0, share: 0 };
    g.count += 1;
    g.amount += r.principal;
    groups.set(id, g);
    totals.set(r.currency, (totals.get(r.currency) ?? 0) + r.principal);
  }
  const out = [...groups.values()].map((g) => ({
    ...g,
    share: totals.get(g.currency) ? g.amount / (totals.get(g.currency) as number) : 0,
  }));
  const rank = (k: string) => (order ? (order.indexOf(k) < 0 ? order.length : order.indexOf(k)) : 0);
  return out.sort(
    (a, b) => a.currency.localeCompare(b.currency) || rank(a.key) - rank(b.key) || b.amount - a.amount || a.key.localeCompare(b.key),
  );
}

/** Exposure by the financed trade's scenario, per currency, largest first ("unknown" last). */
export function exposureByScenario(rows: PortfolioRow[]): Exposure[] {
  // exposureBy sorts by currency then amount; the (stable) sort moves "unknown" last in each.
  return exposureBy(rows, (r) => r.scenario).sort(
    (a, b) => a.currency.localeCompare(b.currency) || Number(a.key === "unknown") - Number(b.key === "unknown"),
  );
}

/** Financings of the bank still waiting for its people, oldest reasons first as given. */
export function referrals(financings: FinancingView[]): FinancingView[] {
  return financings.filter((f) => f.status === "referred");
}

/** A PD (0..1) as a percentage with two decimals, or null. */
export function pdText(pd: number | null | undefined): string | null {
  return pd === null || pd === undefined ? null : `${(pd * 100).toFixed(2)}%`;
}

/** Policy fields in minor units of the policy's currency, and in basis points. */
const MINOR_FIELDS = new Set(["limit_per_borrower", "limit_per_debtor", "limit_per_scenario", "limit_per_industry", "programme_limit"]);
const BPS = /_bps$/;

export interface PolicyRow {
  field: string;
  value: string | null; // null: no limit
  raw: unknown;
}

/** GET /policy's answer as rows: amounts in the policy's currency, basis points as %, the
 * rest as JSON. */
export function policyRows(policy: Record<string, unknown>): PolicyRow[] {
  const currency = typeof policy.currency === "string" ? policy.currency : "";
  const bps = (v: number) => `${(v / 100).toFixed(2)}%`;
  return Object.entries(policy)
    .filter(([k]) => k !== "bank_id")
    .map(([field, raw]) => {
      let value: string | null;
      if (raw === null || raw === undefined) value = null;
      else if (MINOR_FIELDS.has(field) && typeof raw === "number") value = `${currency} ${formatMinor(raw)}`;
      else if (BPS.test(field) && typeof raw === "number") value = bps(raw);
      else if (BPS.test(field) && raw && typeof raw === "object")
        value = Object.entries(raw as Record<string, number>).map(([k, v]) => `${k} ${bps(v)}`).join(", ");
      else if (typeof raw === "string" || typeof raw === "number" || typeof raw === "boolean") value = String(raw);
      else value = JSON.stringify(raw);
      return { field, value, raw };
    });
}

/** The proposal's fields from the text the officer typed: a JSON object, or an error. */
export function parseFields(text: string): { fields: Record<string, unknown> } | { error: string } {
  try {
    const v: unknown = JSON.parse(text);
    if (!v || typeof v !== "object" || Array.isArray(v)) return { error: "expected {...}" };
    if (!Object.keys(v).length) return { error: "no field given" };
    return { fields: v as Record<string, unknown> };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

/** At most this many ids in one `GET /items?ids=` (the API's bound). */
export const ITEMS_PER_READ = 200;

/** The items of `ids` in as few `GET /items?ids=` as the API's bound allows (`read` makes one:
 * the items the caller sees among the comma-joined ids), null for an item not answered
 * (unknown, or not the caller's): one request for a page of items, not one an item. */
export async function readItemsAt<T extends { item_id: string }>(
  ids: string[],
  read: (joined: string) => Promise<T[]>,
): Promise<Map<string, T | null>> {
  const unique = [...new Set(ids)];
  const chunks: string[][] = [];
  for (let i = 0; i < unique.length; i += ITEMS_PER_READ) chunks.push(unique.slice(i, i + ITEMS_PER_READ));
  const answered = await Promise.all(chunks.map((c) => read(c.join(","))));
  const found = new Map(answered.flat().map((v) => [v.item_id, v] as const));
  return new Map(unique.map((id) => [id, found.get(id) ?? null]));
}
