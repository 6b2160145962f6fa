// Who sees the bank's and the supervisor's screens: the API's policy table (api/policy.py)
// for the routes each screen reads.
import type { Me } from "../../api/client";

const BANK_READERS = new Set(["admin", "credit_officer", "approver", "auditor"]);
const OVERSIGHT = new Set(["admin", "auditor"]);

export type Screen = "bankQueue" | "bankPortfolio" | "bankPolicy" | "bankModels" | "supervision";

export function canSee(me: Me | null, screen: Screen): boolean {
  if (!me) return false;
  const types = new Set(me.org_types);
  switch (screen) {
    case "bankQueue":
    case "bankPortfolio": // financings.read (+ items.read)
      return types.has("bank") && BANK_READERS.has(me.role);
    case "bankPolicy": // policy.read
      return types.has("bank");
    case "bankModels": // models.read
      return (types.has("bank") && BANK_READERS.has(me.role)) || (types.has("regulator") && OVERSIGHT.has(me.role));
    case "supervision": // regulator.figures / platforms.figures
      return (
        types.has("regulator") || types.has("local_government") || (types.has("platform_operator") && OVERSIGHT.has(me.role))
      );
  }
}
