import { describe, expect, it } from "vitest";
import { ApiError, createApi, memoryTokens, must, problemDetail } from "./client";
import { parseSse } from "./events";
import { describeRow, tally, type UploadRow } from "./upload";

/** A server in a function: answers by method and path, records what it was sent. */
function server(answer: (r: Request, body: string) => Response | Promise<Response>) {
  const seen: { method: string; path: string; auth: string | null; body: string }[] = [];
  const fetch = async (r: Request) => {
    const body = r.body ? await r.text() : "";
    seen.push({ method: r.method, path: new URL(r.url).pathname, auth: r.headers.get("Authorization"), body });
    return answer(r, body);
  };
  return { fetch, seen };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

const tokens = (n: number) => ({
  access_token: `access-${n}`, refresh_token: `refresh-${n}`, token_type: "Bearer",
  expires_in: 900, refresh_expires_in: 86400,
});

const ME = { org_id: "org-1", org_types: ["enterprise"], role: "admin", user_id: "u-1", via: "session" };

describe("problem details", () => {
  it("gives the problem's words", () => {
    expect(problemDetail(403, { title: "Forbidden", detail: "only the seller issues it" })).toBe("only the seller issues it");
    expect(problemDetail(422, { detail: [{ loc: ["body", "uscc"], msg: "too short" }] })).toBe("body.uscc: too short");
    expect(problemDetail(404, { title: "Not Found" })).toBe("Not Found");
    expect(problemDetail(502, "")).toBe("HTTP 502");
  });

  it("must() throws ApiError with status and detail", () => {
    const answer = { error: { detail: "no such trade" }, response: new Response(null, { status: 404 }) };
    expect(() => must(answer)).toThrow(ApiError);
    try {
      must(answer);
    } catch (e) {
      expect((e as ApiError).status).toBe(404);
      expect((e as ApiError).detail).toBe("no such trade");
    }
  });
});

describe("the client", () => {
  it("signs in with the second factor and sends the bearer token", async () => {
    const s = server((r) => (r.method === "POST" ? json(201, tokens(1)) : json(200, ME)));
    const api = createApi({ store: memoryTokens(), baseUrl: "http://fourflow.test", fetch: s.fetch });
    await api.signIn("admin@bank.example.cn", "correct horse", "123456");
    expect(JSON.parse(s.seen[0].body)).toEqual({ email: "admin@bank.example.cn", password: "correct horse", totp: "123456" });
    const me = must(await api.client.GET("/api/v1/me"));
    expect(me.org_types).toEqual(["enterprise"]);
    expect(s.seen[1]).toMatchObject({ method: "GET", path: "/api/v1/me", auth: "Bearer access-1" });
  });

  it("a refused sign-in stores nothing and says why", async () => {
    const s = server(() => json(401, { detail: "wrong e-mail, password or code" }));
    const store = memoryTokens();
    const api = createApi({ store, baseUrl: "http://fourflow.test", fetch: s.fetch });
    await expect(api.signIn("a@b.cn", "x")).rejects.toThrow("wrong e-mail, password or code");
    expect(store.get()).toBeNull();
    expect(s.seen).toHaveLength(1); // no refresh attempted on the sign-in itself
  });

  it("refreshes once on a 401, shared by concurrent requests, and retries", async () => {
    let current = "access-1";
    const s = server((r, body) => {
      const path = new URL(r.url).pathname;
      if (path === "/api/v1/sessions/refresh") {
        expect(JSON.parse(body)).toEqual({ refresh_token: "refresh-1" });
        current = "access-2";
        return json(201, tokens(2));
      }
      return r.headers.get("Authorization") === `Bearer ${current}` ? json(200, ME) : json(401, { detail: "expired" });
    });
    const store = memoryTokens();
    store.set({ access: "access-1", refresh: "refresh-1" });
    current = "access-0"; // the held token has expired
    const api = createApi({ store, baseUrl: "http://fourflow.test", fetch: s.fetch });
    const [a, b] = await Promise.all([api.client.GET("/api/v1/me"), api.client.GET("/api/v1/me")]);
    expect(a.data?.org_id).toBe("org-1");
    expect(b.data?.org_id).toBe("org-1");
    expect(s.seen.filter((x) => x.path === "/api/v1/sessions/refresh")).toHaveLength(1);
    expect(store.get()).toEqual({ access: "access-2", refresh: "refresh-2" });
  });

  it("a refused refresh ends the session", async () => {
    const s = server((r) =>
      new URL(r.url).pathname === "/api/v1/sessions/refresh" ? json(401, { detail: "revoked" }) : json(401, { detail: "expired" }),
    );
    const store = memoryTokens();
    store.set({ access: "a", refresh: "r" });
    let ended = 0;
    const api = createApi({ store, baseUrl: "http://fourflow.test", fetch: s.fetch, onSignedOut: () => (ended += 1) });
    const answer = await api.client.GET("/api/v1/me");
    expect(answer.response.status).toBe(401);
    expect(store.get()).toBeNull();
    expect(ended).toBe(1);
  });

  it("signs out on the server and forgets the tokens", async () => {
    const s = server(() => new Response(null, { status: 204 }));
    const store = memoryTokens();
    store.set({ access: "a", refresh: "r" });
    const api = createApi({ store, baseUrl: "http://fourflow.test", fetch: s.fetch });
    await api.signOut();
    expect(s.seen[0]).toMatchObject({ method: "DELETE", path: "/api/v1/sessions/current", auth: "Bearer a" });
    expect(store.get()).toBeNull();
  });
});

describe("server-sent events", () => {
  it("parses complete events and keeps the unfinished rest", () => {
    const text =
      "retry: 2000\n: connected\n\n" +
      'id: 7\nevent: document.verified\ndata: {"subject_id":"doc-1"}\n\n' +
      "id: 8\r\nevent: item.issued\r\ndata: line one\r\ndata: line two\r\n\r\n" +
      "id: 9\nevent: item.conf";
    const { events, rest } = parseSse(text);
    expect(events).toEqual([
      { id: 7, kind: "document.verified", data: { subject_id: "doc-1" } },
      { id: 8, kind: "item.issued", data: "line one\nline two" },
    ]);
    expect(rest).toBe("id: 9\nevent: item.conf");
    const next = parseSse(rest + 'irmed\ndata: {"a":1}\n\n');
    expect(next.events).toEqual([{ id: 9, kind: "item.confirmed", data: { a: 1 } }]);
  });
});

describe("upload results in words", () => {
  const row = (over: Partial<UploadRow>): UploadRow => ({
    source: "a.xml", status: "accepted", document_id: "d1", kind: "invoice", number: "INV-1",
    fingerprint: "f", errors: [], findings: [], trade_id: null, trade_status: null, waits: "", ...over,
  });

  it("says what was found, where it went and what it waits for", () => {
    expect(describeRow(row({ trade_id: "t1", trade_status: "pending", waits: "receipt_advice" }))).toEqual([
      { key: "upload.kindNumber", vars: { kind: "invoice", number: "INV-1" } },
      { key: "upload.trade", vars: { trade: "t1", status: "pending" } },
      { key: "upload.waits", vars: { waits: "receipt_advice" } },
      { key: "upload.noFinding" },
    ]);
    const rejected = describeRow(
      row({ status: "rejected", kind: null, errors: [{ code: "UNKNOWN_FORMAT", message: "not a document FourFlow reads" }] }),
    );
    expect(rejected).toEqual([{ key: "upload.error", vars: { code: "UNKNOWN_FORMAT", message: "not a document FourFlow reads" } }]);
    const warned = describeRow(row({ findings: [{ code: "DATE_ORDER", message: "dated before its order" }] }));
    expect(warned).toContainEqual({ key: "upload.warning", vars: { code: "DATE_ORDER", message: "dated before its order" } });
    expect(warned).not.toContainEqual({ key: "upload.noFinding" });
  });

  it("counts statuses", () => {
    expect(tally([row({}), row({ status: "duplicate" }), row({ status: "rejected" }), row({})])).toEqual({
      accepted: 2, duplicate: 1, rejected: 1,
    });
  });
});
