// The shapes of the workbench routes (entrypoints/api/workbench_routes.py, services/workbench.py)
// for my trades, a trade's evidence chain and the payables' dispute, and their data shaping
// (tested in evidence.test.ts).

export interface TradeRow {
  trade_id: string;
  scenario: string;
  role: "seller" | "buyer" | null;
  seller_id: string;
  seller_name: string;
  buyer_id: string;
  buyer_name: string;
  documents: number;
  status: string;
  score: number | null;
  report_hash: string | null;
  item_id: string | null;
}

export interface TradesPage {
  total: number;
  offset: number;
  limit: number;
  trades: TradeRow[];
}

export interface Anchor {
  state: "anchored" | "pending";
  batch_id?: string | null;
  chain_id?: number;
  notary?: string | null;
  count?: number;
  tx_hash?: string | null;
  block_number?: number | null;
  merkle?: { scheme: string; leaf_index: number; siblings: string[]; root: string };
  reason?: string;
}

export interface DocumentEvidence {
  document_id: string;
  kind: string;
  number: string;
  issue_date: string;
  source_format: string;
  media_type: string;
  source: string | null;
  submitted_by: string | null;
  submitted_by_name: string;
  submitted_at: string | null;
  signature: { algorithm: string | null; signer: string | null } | null;
  fingerprint: string;
  anchor: Anchor;
  /** What banks reported (ISO 20022 pacs.002): beside a payment, ``counts`` and the
   *  ``reports``; beside a status, its own report and the ``payments`` it names. */
  payment_status?: PaymentStatusView | null;
}

export interface StatusReport {
  document_id: string;
  number: string;
  issue_date: string;
  code: string;
  meaning: string;
  reasons: string[];
  rejected: boolean;
  settled: boolean;
}

export type PaymentStatusView =
  | { counts: boolean; reports: StatusReport[] }
  | (StatusReport & { payments: string[] });

/** A bank's word on a payment, for a tag beside it: rejected (it paid nothing), settled, or
 *  a stage on the way (pending ...); the codes and reasons as the bank wrote them. */
export interface BankStatus {
  tone: "bad" | "good" | "info";
  codes: string;
  title: string;
}

export function bankStatus(view: PaymentStatusView | null | undefined): BankStatus | null {
  if (!view) return null;
  const reports = "reports" in view ? view.reports : [view];
  if (reports.length === 0) return null;
  const rejected = "counts" in view ? !view.counts : view.rejected;
  const settled = reports.some((r) => r.settled);
  return {
    tone: rejected ? "bad" : settled ? "good" : "info",
    codes: [...new Set(reports.map((r) => r.code))].join(", "),
    title: reports
      .map((r) => `${r.number}: ${r.code} (${r.meaning}${r.reasons.length ? `; ${r.reasons.join(", ")}` : ""}) ${r.issue_date}`)
      .join(" · "),
  };
}

export interface TradeDocuments {
  trade_id: string;
  status: string;
  score: number | null;
  report_hash: string | null;
  documents: DocumentEvidence[];
}

/** The page of the API's offset/limit for a table page (1-based) of ``size`` rows. */
export function pageQuery(page: number, size: number): { offset: number; limit: number } {
  const p = Math.max(1, Math.floor(page));
  const s = Math.min(200, Math.max(1, Math.floor(size)));
  return { offset: (p - 1) * s, limit: s };
}

/** A long hash shortened for a table cell: its head and tail (the whole is in the title). */
export function shortHash(h: string | null | undefined, keep = 10): string {
  if (!h) return "—";
  const body = h.includes(":") ? h.slice(h.indexOf(":") + 1) : h;
  const prefix = h.includes(":") ? h.slice(0, h.indexOf(":") + 1) : "";
  return body.length <= keep * 2 + 1 ? h : `${prefix}${body.slice(0, keep)}…${body.slice(-keep)}`;
}

/** One line of the evidence chain: who submitted (name, else id), when (UTC, to the second),
 *  who signed (the signer, else "unsigned"), and where it is anchored. */
export interface EvidenceLine {
  key: string;
  kind: string;
  number: string;
  submitter: string;
  at: string;
  signer: string | null;
  algorithm: string | null;
  fingerprint: string;
  anchored: boolean;
  tx: string | null;
  block: number | null;
  root: string | null;
  proofLength: number;
  waits: string | null;
  bank: BankStatus | null;
}

export function evidenceLines(docs: readonly DocumentEvidence[]): EvidenceLine[] {
  return [...docs]
    .sort((a, b) => (a.submitted_at ?? "").localeCompare(b.submitted_at ?? "") || a.document_id.localeCompare(b.document_id))
    .map((d) => ({
      key: d.document_id,
      kind: d.kind,
      number: d.number,
      submitter: d.submitted_by_name || d.submitted_by || "—",
      at: d.submitted_at ? d.submitted_at.replace("T", " ").slice(0, 19) + " UTC" : "—",
      signer: d.signature?.signer ?? null,
      algorithm: d.signature?.algorithm ?? null,
      fingerprint: d.fingerprint,
      anchored: d.anchor.state === "anchored",
      tx: d.anchor.tx_hash ?? null,
      block: d.anchor.block_number ?? null,
      root: d.anchor.merkle?.root ?? null,
      proofLength: d.anchor.merkle?.siblings.length ?? 0,
      waits: d.anchor.state === "anchored" ? null : d.anchor.reason ?? "",
      bank: bankStatus(d.payment_status),
    }));
}

/** How many of a trade's documents are anchored, signed, and in all. */
export function evidenceSummary(docs: readonly DocumentEvidence[]): { total: number; anchored: number; signed: number } {
  return {
    total: docs.length,
    anchored: docs.filter((d) => d.anchor.state === "anchored").length,
    signed: docs.filter((d) => d.signature !== null).length,
  };
}

/** Whether the debtor may dispute an item (the API refuses the rest: settled, already disputed). */
export function disputable(item: { status: string; disputed?: boolean }): boolean {
  return item.status !== "settled" && !item.disputed;
}

/** Whether the debtor may withdraw its dispute of an item (the API refuses an item not disputed). */
export function withdrawable(item: { disputed?: boolean }): boolean {
  return item.disputed === true;
}

/** Whether the trade view offers to issue the trade's debt item (POST /items): the trade was
 *  verified, not failed (the service issues on a verified or partial report) and, when it is listed among my trades, I am its seller and no item was issued on
 *  it yet. A trade typed but not on the page listed is offered too: the API refuses in words
 *  anyone but the seller (403) and a second item (409). */
export function issuable(status: string | null | undefined, row: Pick<TradeRow, "role" | "item_id"> | null | undefined): boolean {
  if (status !== "verified" && status !== "partial") return false;
  if (!row) return true;
  return row.role === "seller" && !row.item_id;
}

/** A business date typed as YYYY-MM-DD (empty: today on the server). */
export function plainDay(text: string | null | undefined): string | null {
  const v = (text ?? "").trim();
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) return null;
  const d = new Date(`${v}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === v ? v : null;
}
