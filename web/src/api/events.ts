// Live notifications: GET /api/v1/events/stream (server-sent events) read with fetch, since
// EventSource cannot send the bearer token; resumes after the last id it saw.
import type { Api } from "./client";

/** One connection's length: the server keeps a closed tab's stream until it ends, so short. */
export const STREAM_SECONDS = 60;

export interface LiveEvent {
  id: number | null;
  kind: string;
  data: unknown;
}

/** Split the text received so far into complete events and the unfinished rest. */
export function parseSse(buffer: string): { events: LiveEvent[]; rest: string } {
  const events: LiveEvent[] = [];
  const normalised = buffer.replace(/\r\n?/g, "\n");
  const blocks = normalised.split("\n\n");
  const rest = blocks.pop() ?? "";
  for (const block of blocks) {
    let id: number | null = null;
    let kind = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "id" && /^\d+$/.test(value)) id = Number(value);
      else if (field === "event") kind = value;
      else if (field === "data") data.push(value);
    }
    if (data.length === 0) continue;
    const text = data.join("\n");
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* plain text data */
    }
    events.push({ id, kind, data: parsed });
  }
  return { events, rest };
}

export interface Follow {
  onEvent: (e: LiveEvent) => void;
  onState?: (connected: boolean) => void;
  signal: AbortSignal;
  /** Reconnections at most (the stream ends by itself after the server's time budget). */
  maxReconnects?: number;
}

/** Follow the caller's events until `signal` aborts. */
export async function followEvents(api: Api, f: Follow): Promise<void> {
  let last: number | null = null;
  const most = f.maxReconnects ?? 10_000;
  for (let attempt = 0; attempt < most && !f.signal.aborted; attempt += 1) {
    try {
      const headers: Record<string, string> = { Accept: "text/event-stream" };
      if (last !== null) headers["Last-Event-ID"] = String(last);
      const answer = await api.authorised(
        new Request(`${api.baseUrl}/api/v1/events/stream?seconds=${STREAM_SECONDS}`, { headers, signal: f.signal }),
      );
      if (!answer.ok || !answer.body) throw new Error(`events: HTTP ${answer.status}`);
      f.onState?.(true);
      attempt = 0;
      const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const parsed = parseSse(buffer + value);
        buffer = parsed.rest;
        for (const e of parsed.events) {
          if (e.id !== null) last = e.id;
          f.onEvent(e);
        }
      }
    } catch {
      if (f.signal.aborted) break;
    }
    f.onState?.(false);
    if (!api.store.get()) break; // signed out
    await new Promise((r) => setTimeout(r, Math.min(30_000, 1000 * 2 ** Math.min(attempt, 5))));
  }
}
