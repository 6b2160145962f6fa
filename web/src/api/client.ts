// The typed API client: paths and schemas generated from FourFlow's own OpenAPI document
// (`fourflow openapi` -> openapi-typescript -> schema.d.ts, at build time), bearer tokens
// kept for the tab, one refresh on a 401, problem details turned into ApiError.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Me = Schemas["MeOut"];
export type TokensOut = Schemas["TokensOut"];
export const PREFIX = "/api/v1";

/** An answer other than 2xx, with the problem's words (RFC 9457 problem details). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly problem: unknown = null,
  ) {
    super(`${status}: ${detail}`);
    this.name = "ApiError";
  }
}

/** The words of a problem document (FastAPI's validation list included), or the status. */
export function problemDetail(status: number, body: unknown): string {
  if (body && typeof body === "object") {
    const p = body as { detail?: unknown; title?: unknown };
    if (typeof p.detail === "string" && p.detail) return p.detail;
    if (Array.isArray(p.detail)) {
      return p.detail
        .map((d: { loc?: unknown[]; msg?: string }) =>
          [Array.isArray(d.loc) ? d.loc.join(".") : "", d.msg ?? ""].filter(Boolean).join(": "),
        )
        .join("; ");
    }
    if (typeof p.title === "string" && p.title) return p.title;
  }
  if (typeof body === "string" && body) return body;
  return `HTTP ${status}`;
}

export interface Tokens {
  access: string;
  refresh: string;
}

export interface TokenStore {
  get(): Tokens | null;
  set(tokens: Tokens | null): void;
}

/** Tokens kept in the tab's sessionStorage (gone when the tab closes). */
export function storageTokens(storage: Storage, key = "fourflow.tokens"): TokenStore {
  return {
    get() {
      const raw = storage.getItem(key);
      if (!raw) return null;
      try {
        const t = JSON.parse(raw) as Partial<Tokens>;
        return typeof t.access === "string" && typeof t.refresh === "string"
          ? { access: t.access, refresh: t.refresh }
          : null;
      } catch {
        return null;
      }
    },
    set(tokens) {
      if (tokens) storage.setItem(key, JSON.stringify(tokens));
      else storage.removeItem(key);
    },
  };
}

export function memoryTokens(): TokenStore {
  let held: Tokens | null = null;
  return { get: () => held, set: (t) => void (held = t) };
}

type Fetch = (input: Request) => Promise<Response>;

export interface ApiOptions {
  store: TokenStore;
  baseUrl?: string;
  fetch?: Fetch;
  /** Called when the session ended (refresh refused): the app shows sign-in. */
  onSignedOut?: () => void;
}

const NO_REFRESH = [`${PREFIX}/sessions`, `${PREFIX}/sessions/refresh`];

export function createApi(options: ApiOptions) {
  const { store, baseUrl = "", onSignedOut } = options;
  const send: Fetch = options.fetch ?? ((r) => globalThis.fetch(r));
  let refreshing: Promise<boolean> | null = null;

  async function refreshNow(): Promise<boolean> {
    const held = store.get();
    if (!held) return false;
    const answer = await send(
      new Request(`${baseUrl}${PREFIX}/sessions/refresh`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: held.refresh }),
      }),
    );
    if (answer.status !== 201) {
      store.set(null);
      onSignedOut?.();
      return false;
    }
    const t = (await answer.json()) as TokensOut;
    store.set({ access: t.access_token, refresh: t.refresh_token });
    return true;
  }

  /** One refresh at a time, shared by every request that met a 401 meanwhile. */
  function refresh(): Promise<boolean> {
    refreshing ??= refreshNow().finally(() => (refreshing = null));
    return refreshing;
  }

  const authorised: Fetch = async (request) => {
    const again = request.clone();
    const held = store.get();
    if (held) request.headers.set("Authorization", `Bearer ${held.access}`);
    const answer = await send(request);
    const path = new URL(request.url, "http://x").pathname;
    if (answer.status !== 401 || !held || NO_REFRESH.includes(path)) return answer;
    if (!(await refresh())) return answer;
    again.headers.set("Authorization", `Bearer ${store.get()?.access ?? ""}`);
    return send(again);
  };

  const client = createClient<paths>({ baseUrl, fetch: authorised });

  async function signIn(email: string, password: string, totp?: string): Promise<void> {
    const { data, error, response } = await client.POST("/api/v1/sessions", {
      body: { email, password, totp: totp || null },
    });
    if (!data) throw new ApiError(response.status, problemDetail(response.status, error), error);
    store.set({ access: data.access_token, refresh: data.refresh_token });
  }

  async function signOut(): Promise<void> {
    try {
      if (store.get()) await client.DELETE("/api/v1/sessions/current");
    } finally {
      store.set(null);
    }
  }

  return { client, store, signIn, signOut, refresh, baseUrl, authorised };
}

export type Api = ReturnType<typeof createApi>;

/** The data of an openapi-fetch answer, or ApiError with the problem's words. */
export function must<T>(answer: { data?: T; error?: unknown; response: Response }): T {
  if (answer.response.ok) return answer.data as T;
  const status = answer.response.status;
  throw new ApiError(status, problemDetail(status, answer.error), answer.error ?? null);
}
