// The signed-in caller: the API client, who they are (GET /me), sign-in and sign-out.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { createApi, must, storageTokens, type Api, type Me } from "./api/client";
import { mayOpen } from "./pages/operator/model";

interface Session {
  api: Api;
  me: Me | null;
  ready: boolean;
  signIn: (email: string, password: string, totp?: string) => Promise<void>;
  signOut: () => Promise<void>;
}

const Context = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [ready, setReady] = useState(false);
  const api = useMemo(
    () => createApi({ store: storageTokens(window.sessionStorage), onSignedOut: () => setMe(null) }),
    [],
  );
  const load = useCallback(async () => {
    if (!api.store.get()) {
      setMe(null);
      return;
    }
    try {
      setMe(must(await api.client.GET("/api/v1/me")));
    } catch {
      setMe(null);
    }
  }, [api]);
  useEffect(() => {
    void load().finally(() => setReady(true));
  }, [load]);
  const value = useMemo<Session>(
    () => ({
      api,
      me,
      ready,
      signIn: async (email, password, totp) => {
        await api.signIn(email, password, totp);
        await load();
      },
      signOut: async () => {
        await api.signOut();
        setMe(null);
      },
    }),
    [api, me, ready, load],
  );
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export function useSession(): Session {
  const found = useContext(Context);
  if (!found) throw new Error("useSession outside SessionProvider");
  return found;
}

/** What the caller may open: the menu follows the API's policy table (docs/api.md). */
export function can(
  me: Me | null,
  screen: "upload" | "admissions" | "users" | "apiKeys" | "webhooks" | "platformAdmissions" | "disputes",
): boolean {
  if (!me) return false;
  const types = new Set(me.org_types);
  const admin = me.role === "admin";
  switch (screen) {
    case "upload":
      return ["enterprise", "core_enterprise", "logistics", "warehouse"].some((t) => types.has(t));
    case "admissions":
      return types.has("platform_operator");
    case "users":
    case "apiKeys":
    case "webhooks":
      return admin;
    case "platformAdmissions": // a local government's own platform (platforms.applications.list)
    case "disputes": // the operator's disputed items (disputes.read)
      return mayOpen(me, screen);
  }
}
