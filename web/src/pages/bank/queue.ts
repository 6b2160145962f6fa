// The bank's workbench routes (entrypoints/api/workbench_routes.py): the review queue valued
// today with the four-eyes proposal waiting, the proposals, the four-eyes limit, the model
// registry and its alerts; and their data shaping (tested in queue.test.ts).
import type { FinancingView } from "./model";

export interface Valuation {
  state: string; // valued | settled | no_review | not_a_receivable | <a status>
  as_of?: string;
  pd?: number;
  lgd?: number;
  exposure?: string;
  expected_loss?: string;
  expected_loss_at_decision?: string | null;
  holding_outstanding?: string;
  value_today?: string;
  value_at_decision?: string | null;
  discount_rate_bps?: number;
  days_to_maturity?: number;
  maturity_date?: string;
  scenario?: string | null;
  debtor_id?: string;
  basis?: string;
}

export interface Proposal {
  proposal_id: string;
  kind: string; // financing_decision | product_policy
  subject_id: string;
  proposed_by: string;
  proposed_at: string;
  content: { approve?: boolean; reason?: string; as_of?: string; fields?: Record<string, unknown> };
  borrower_name?: string;
  debtor_name?: string;
  requested?: string;
  currency?: string;
}

export interface QueueRow extends FinancingView {
  borrower_name: string;
  bank_name: string;
  debtor_name: string;
  debtor_id: string | null;
  scenario: string | null;
  valuation: Valuation;
  proposal: Proposal | null;
}

export interface FourEyes {
  limit: string;
  currency: string;
  applies_to: string;
}

export interface ModelRow {
  model_id: string;
  kind: string;
  role: string;
  as_of: string;
  training_rows: number;
  data_hash: string;
  note: string | null;
  validation: { auc?: number; ks?: number; brier?: number; rows?: number; bad_rate?: number; source?: string };
  verdict: Record<string, number> | null;
  reference_size: number;
  dropped: string[];
}

export interface AlertRow {
  alert_id: string;
  kind: string;
  severity: string;
  metric: string;
  value: number;
  threshold: number;
  model_id: string | null;
  bank_id: string | null;
  as_of: string;
  message: string;
}

export interface Registry {
  champion: string | null;
  models: ModelRow[];
  alerts: AlertRow[];
}

/** Expected loss and value today in words for a queue cell, or null when not valued. */
export function valuationText(v: Valuation | undefined, currency: string): { el: string; value: string } | null {
  if (!v || v.state !== "valued" || v.expected_loss === undefined || v.value_today === undefined) return null;
  return { el: `${currency} ${v.expected_loss}`, value: `${currency} ${v.value_today}` };
}

/** Whether a request is above the four-eyes limit (amounts as the API writes them: plain decimals). */
export function aboveFourEyes(requested: string | null, limit: string | null | undefined): boolean {
  if (!requested || !limit) return false;
  return toMinor(requested) > toMinor(limit);
}

function toMinor(amount: string): bigint {
  const [whole, frac = ""] = amount.split(".");
  return BigInt(whole || "0") * 100n + BigInt((frac + "00").slice(0, 2));
}

/** A proposal's content as label/value pairs (a decision's outcome and reason; a policy's fields). */
export function proposalLines(p: Proposal): { label: string; value: string }[] {
  if (p.kind === "financing_decision") {
    return [
      { label: "outcome", value: p.content.approve ? "approve" : "decline" },
      { label: "reason", value: p.content.reason ?? "" },
      ...(p.content.as_of ? [{ label: "as_of", value: p.content.as_of }] : []),
    ];
  }
  return Object.entries(p.content.fields ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => ({ label: k, value: typeof v === "string" ? v : JSON.stringify(v) }));
}

/** Champion first, then challengers, then the rest; AUC and KS per model for a bar chart. */
export function modelBars(models: readonly ModelRow[]): { names: string[]; auc: (number | null)[]; ks: (number | null)[] } {
  const order: Record<string, number> = { champion: 0, challenger: 1 };
  const sorted = [...models].sort((a, b) => (order[a.role] ?? 2) - (order[b.role] ?? 2) || a.model_id.localeCompare(b.model_id));
  return {
    names: sorted.map((m) => m.model_id),
    auc: sorted.map((m) => m.validation.auc ?? null),
    ks: sorted.map((m) => m.validation.ks ?? null),
  };
}

/** Alerts counted by kind and severity (drift, performance ...). */
export function alertCounts(alerts: readonly AlertRow[]): { kind: string; alert: number; warning: number }[] {
  const by = new Map<string, { kind: string; alert: number; warning: number }>();
  for (const a of alerts) {
    const row = by.get(a.kind) ?? { kind: a.kind, alert: 0, warning: 0 };
    if (a.severity === "alert") row.alert += 1;
    else row.warning += 1;
    by.set(a.kind, row);
  }
  return [...by.values()].sort((a, b) => a.kind.localeCompare(b.kind));
}
