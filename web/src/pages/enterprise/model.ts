// The shapes the API answers for the enterprise's and the core enterprise's screens (their
// routes declare no response model: these follow business_routes.py (verify_trade,
// _financing_view), services/position.py (member_position), services/items/views.py
// (render_item) and services/consents.py (consent_view, statement_view)) and the data shaping
// those screens do (tested in model.test.ts).
import type { HoldingView, ItemView } from "../bank/model";

export type { FinancingView, HoldingView, ItemView } from "../bank/model";

/** What render_item adds beside the bank's view of an item: how repayments were routed. */
export interface Settlement {
  settled_by_party?: { party: string | null; party_id: string; amount: string; minor: number; currency: string }[];
  holdings: (HoldingView & { paid_to_holder?: { amount: string; currency: string }; paid_to_bank?: { amount: string; currency: string } })[];
}

export interface Finding {
  code: string;
  severity: string;
  message: string;
}

export interface VerificationView {
  trade_id: string;
  status: string;
  score: number;
  report_hash: string;
  payment_state: string;
  findings: Finding[];
}

export interface PositionMoney {
  minor: number;
  amount: string;
  currency: string;
}

export interface PositionView {
  member: string;
  holds: { holding: string; item: string; debtor: string | null; maturity: string; outstanding: PositionMoney; pledged_to: string | null }[];
  owes: { item: string; creditor: string | null; maturity: string; outstanding: PositionMoney }[];
  financed: { request: string; bank: string | null; status: string; requested: PositionMoney; principal: PositionMoney; rate_bps: number | null; kind: string }[];
  pending: { op: string; kind: string; subject: string; status: string }[];
}

export interface ConsentView {
  consent_id: string;
  grantor_id: string;
  grantee_id: string;
  kinds: string[];
  purpose: string;
  counterparties: string[] | "all";
  valid_from: string;
  valid_to: string;
  granted_by: string;
  granted_at: string;
  status: string;
  revoked_at: string | null;
  revoked_by: string | null;
  revoked_reason: string | null;
}

export interface StatementView {
  grantor_id: string;
  month: string;
  lines: { grantee_id: string; kind: string; reads: number; records: number; fees: string; currency: string }[];
  by_bank: { grantee_id: string; currency: string; fees: string }[];
  total: Record<string, string>;
}

/** The four flows (四流) of a trade, in the order the trade view shows them. */
export const FLOWS = ["commercial", "logistics", "capital", "information"] as const;
export type Flow = (typeof FLOWS)[number];
export type FlowOrAll = Flow | "trade";

/** Which flow a verification finding speaks about (verification/rules.py); "trade" when it
 * crosses the flows (parties, dates, links, currency, who gave the evidence). */
const CODE_FLOW: Record<string, Flow> = {
  AMOUNT_EXCEEDS_ORDER: "commercial",
  PRICE_MISMATCH: "commercial",
  GOODS_NOT_EVIDENCED: "logistics",
  QTY_EXCEEDS: "logistics",
  RECEIPT_MISSING: "logistics",
  TRANSPORT_EVIDENCED: "logistics",
  TRANSPORT_MISMATCH: "logistics",
  OVERPAID: "capital",
  PAID_BEFORE_INVOICE: "capital",
  PAID_LATE: "capital",
  PARTIALLY_PAID: "capital",
  PAYER_ACCOUNT_UNKNOWN: "capital",
  PAYER_NOT_BUYER: "capital",
  PAYMENT_NOT_YET_DUE: "capital",
  PAYMENT_OVERDUE: "capital",
  CREDIT_EXCEEDS_INVOICE: "information",
  CREDIT_NOTE_APPLIED: "information",
  LINE_ARITHMETIC: "information",
  TOTAL_MISMATCH: "information",
};

export function findingFlow(f: Finding): FlowOrAll {
  if (f.code === "FLOW_MISSING") {
    // "no {flow} flow document in the trade"
    const named = FLOWS.find((flow) => new RegExp(`\\b${flow}\\b`).test(f.message));
    return named ?? "trade";
  }
  return CODE_FLOW[f.code] ?? "trade";
}

export interface FlowColumn {
  flow: FlowOrAll;
  /** "missing": the verification found no document of this flow; "error"/"warning": its worst
   * finding; "ok": none. */
  state: "missing" | "error" | "warning" | "ok";
  findings: Finding[];
}

const RANK: Record<string, number> = { error: 3, warning: 2, info: 1 };

/** The findings grouped by flow: the four flows side by side, then what crosses them. */
export function groupFindings(findings: Finding[]): FlowColumn[] {
  const columns: FlowColumn[] = [...FLOWS, "trade" as const].map((flow) => ({ flow, state: "ok", findings: [] }));
  for (const f of findings) {
    const col = columns.find((c) => c.flow === findingFlow(f))!;
    col.findings.push(f);
  }
  for (const col of columns) {
    col.findings.sort((a, b) => (RANK[b.severity] ?? 0) - (RANK[a.severity] ?? 0) || a.code.localeCompare(b.code));
    if (col.findings.some((f) => f.code === "FLOW_MISSING")) col.state = "missing";
    else if (col.findings.some((f) => f.severity === "error")) col.state = "error";
    else if (col.findings.some((f) => f.severity === "warning")) col.state = "warning";
  }
  return columns;
}

export interface ProvenanceNode {
  key: string;
  holding: HoldingView;
  children: ProvenanceNode[];
}

/** The item's holdings as a tree: each holding under the one it was split or transferred
 * from (parent_id); the item's first holdings (no parent, or a parent the view does not list)
 * are roots. A cycle in bad data is broken, never looped over. */
export function provenanceTree(holdings: HoldingView[]): ProvenanceNode[] {
  const nodes = new Map(holdings.map((h) => [h.holding_id, { key: h.holding_id, holding: h, children: [] as ProvenanceNode[] }]));
  const roots: ProvenanceNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.holding.parent_id ? nodes.get(node.holding.parent_id) : undefined;
    if (parent && !reaches(node, parent.key, nodes)) parent.children.push(node);
    else roots.push(node);
  }
  return roots;
}

/** Whether `parentId`'s chain of parents passes through `node` (adding the edge would loop). */
function reaches(node: ProvenanceNode, parentId: string, nodes: Map<string, ProvenanceNode>): boolean {
  let at: string | null | undefined = parentId;
  for (let steps = 0; at && steps <= nodes.size; steps += 1) {
    if (at === node.key) return true;
    at = nodes.get(at)?.holding.parent_id;
  }
  return false;
}

/** The holdings the caller may split, transfer or finance: its own, with something
 * outstanding, not pledged to a bank. */
export function ownFreeHoldings(item: ItemView, myOrgId: string): HoldingView[] {
  return item.holdings.filter(
    (h) => h.holder_id === myOrgId && Number(h.outstanding.amount) > 0 && !(h.pledge && h.pledge.status === "active"),
  );
}

/** Where a financing's chain work stands, in one word: the detail's chain state when the API
 * gave it, else what the status implies. */
export function chainState(f: { status: string; chain?: { state: string; refusal: string | null } }): string {
  // Declined, referred or only requested: nothing was queued for the chain (the detail's
  // "applied" then only means no operation is waiting).
  if (["requested", "declined", "referred"].includes(f.status)) return "none";
  if (f.chain) return f.chain.state;
  if (f.status === "failed") return "refused";
  if (f.status === "approved") return "pending";
  if (f.status === "active" || f.status === "repaid" || f.status === "defaulted") return "applied";
  return "none";
}

/** A payable waits for the core enterprise's confirmation while its item was issued on the
 * evidence alone (basis "verified") and is still live. */
export function awaitsConfirmation(item: Pick<ItemView, "basis" | "status">): boolean {
  return item.basis === "verified" && !["settled", "cancelled", "defaulted"].includes(item.status);
}

/** "YYYY-MM" of a date (for the statement's month). */
export function monthOf(day: Date): string {
  return `${day.getUTCFullYear()}-${String(day.getUTCMonth() + 1).padStart(2, "0")}`;
}

/** A decimal amount as the API takes it ("225000.00"): digits and one point, no grouping. */
export function plainAmount(text: string): string | null {
  const t = text.trim().replace(/[,\s]/g, "");
  return /^[0-9]+(\.[0-9]+)?$/.test(t) ? t : null;
}

/** The items a position names (held or owed), each once, at most `limit`. */
export function positionItems(position: Pick<PositionView, "holds" | "owes">, limit: number): string[] {
  const seen = new Set<string>();
  for (const r of [...position.holds, ...position.owes]) {
    if (seen.size >= limit) break;
    seen.add(r.item);
  }
  return [...seen];
}

/** My trades, from my items: one entry per trade, its parties and items. */
export function tradesOfItems(items: Pick<ItemView, "item_id" | "trade_id" | "debtor" | "creditor">[]): { trade_id: string; label: string }[] {
  const by = new Map<string, { parties: string; items: string[] }>();
  for (const i of items) {
    const found = by.get(i.trade_id) ?? { parties: `${i.creditor ?? "?"} → ${i.debtor ?? "?"}`, items: [] };
    found.items.push(i.item_id);
    by.set(i.trade_id, found);
  }
  return [...by.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([trade_id, v]) => ({ trade_id, label: `${trade_id} · ${v.parties} · ${v.items.join(", ")}` }));
}
