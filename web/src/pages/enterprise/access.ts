// Who sees the enterprise's and the core enterprise's screens: the API's policy table
// (api/policy.py) for the routes each screen reads or writes.
import type { Me } from "../../api/client";

const ENTERPRISES = ["enterprise", "core_enterprise"];
const TRADERS = ["enterprise", "core_enterprise", "logistics", "warehouse"];
const MANAGERS = new Set(["admin", "finance_manager"]);
const READERS = new Set(["admin", "finance_manager", "auditor"]);

export type EnterpriseScreen = "trade" | "position" | "financing" | "payables" | "consents";
export type EnterpriseAction = "manage" | "grantConsent";

export function canOpen(me: Me | null, screen: EnterpriseScreen): boolean {
  if (!me) return false;
  const has = (types: string[]) => types.some((t) => me.org_types.includes(t));
  switch (screen) {
    case "trade": // trades.verify
      return has(ENTERPRISES) && MANAGERS.has(me.role);
    case "position": // position.read (+ items.read)
      return has(TRADERS);
    case "financing": // financings.read
      return has(ENTERPRISES) && READERS.has(me.role);
    case "payables": // position.read + items.confirm
      return has(ENTERPRISES) && MANAGERS.has(me.role);
    case "consents": // consents.read + data.statement
      return me.org_types.includes("core_enterprise") && READERS.has(me.role);
  }
}

/** Whether the caller may act, not only read: split/transfer/finance/confirm (managers),
 * grant or revoke a consent (the core enterprise's admin). */
export function mayAct(me: Me | null, action: EnterpriseAction): boolean {
  if (!me) return false;
  if (action === "grantConsent") return me.org_types.includes("core_enterprise") && me.role === "admin";
  return ENTERPRISES.some((t) => me.org_types.includes(t)) && MANAGERS.has(me.role);
}
