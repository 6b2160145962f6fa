// Uploading one document file with progress (XMLHttpRequest: fetch reports no upload
// progress), and the result of each file in words.
import { ApiError, PREFIX, problemDetail, type TokenStore } from "./client";
import type { MessageKey } from "../i18n";

/** One stored document of an uploaded file, as POST /documents answers it. */
export interface UploadRow {
  source: string;
  status: "accepted" | "duplicate" | "rejected" | string;
  document_id: string | null;
  kind: string | null;
  number: string | null;
  fingerprint: string | null;
  errors: { code?: string; message?: string; location?: string }[];
  findings: { code?: string; flag?: string; message?: string; location?: string }[];
  trade_id: string | null;
  trade_status: string | null;
  waits: string;
}

export interface UploadOptions {
  store: TokenStore;
  file: Blob;
  name: string;
  onProgress?: (fraction: number) => void;
  refresh?: () => Promise<boolean>;
  baseUrl?: string;
}

function once(o: UploadOptions): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const url = `${o.baseUrl ?? ""}${PREFIX}/documents?source=${encodeURIComponent(o.name.slice(0, 200))}`;
    xhr.open("POST", url);
    const held = o.store.get();
    if (held) xhr.setRequestHeader("Authorization", `Bearer ${held.access}`);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) o.onProgress?.(e.loaded / e.total);
    };
    xhr.onload = () => {
      let body: unknown = xhr.responseText;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON: keep the text */
      }
      resolve({ status: xhr.status, body });
    };
    xhr.onerror = () => reject(new ApiError(0, "the network failed"));
    xhr.send(o.file);
  });
}

export async function uploadDocument(o: UploadOptions): Promise<UploadRow[]> {
  let answer = await once(o);
  if (answer.status === 401 && o.refresh && (await o.refresh())) answer = await once(o);
  if (answer.status !== 201) {
    throw new ApiError(answer.status, problemDetail(answer.status, answer.body), answer.body);
  }
  return answer.body as UploadRow[];
}

export interface Said {
  key: MessageKey;
  vars?: Record<string, string | number | null>;
}

/** What to tell the user about one stored document of a file, in catalogue keys. */
export function describeRow(row: UploadRow): Said[] {
  const said: Said[] = [];
  if (row.kind) said.push({ key: "upload.kindNumber", vars: { kind: row.kind, number: row.number ?? "" } });
  for (const e of row.errors) {
    said.push({ key: "upload.error", vars: { code: e.code ?? "", message: e.message ?? "" } });
  }
  for (const f of row.findings) {
    said.push({ key: "upload.warning", vars: { code: f.code ?? "", message: f.message ?? "" } });
  }
  if (row.status !== "rejected") {
    if (row.trade_id) {
      said.push({ key: "upload.trade", vars: { trade: row.trade_id, status: row.trade_status ?? "" } });
      if (row.waits) said.push({ key: "upload.waits", vars: { waits: row.waits } });
    } else {
      said.push({ key: "upload.noTrade" });
    }
  }
  if (row.errors.length === 0 && row.findings.length === 0 && row.status === "accepted") {
    said.push({ key: "upload.noFinding" });
  }
  return said;
}

/** Counts of the rows' statuses, for the summary line. */
export function tally(rows: UploadRow[]): Record<"accepted" | "duplicate" | "rejected", number> {
  const out = { accepted: 0, duplicate: 0, rejected: 0 };
  for (const r of rows) {
    if (r.status === "accepted" || r.status === "duplicate" || r.status === "rejected") out[r.status] += 1;
  }
  return out;
}
