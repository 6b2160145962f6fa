import { describe, expect, it } from "vitest";
import {
  awaitsConfirmation, chainState, positionItems, tradesOfItems, findingFlow, groupFindings, monthOf, ownFreeHoldings, plainAmount, provenanceTree,
  type HoldingView, type ItemView,
} from "./model";
import { canOpen, mayAct } from "./access";
import type { Me } from "../../api/client";

const money = (amount: string) => ({ amount, minor: Math.round(Number(amount) * 100), currency: "CNY" });

function holding(id: string, parent: string | null, holder = "org-a", outstanding = "100.00", pledged = false): HoldingView {
  return {
    holding_id: id, holder: holder.toUpperCase(), holder_id: holder, value: money("100.00"), outstanding: money(outstanding),
    parent_id: parent, acquired_from: null,
    pledge: pledged
      ? { bank: "Bank", bank_id: "bank-1", principal: money("80.00"), interest: money("1.00"), rate_bps: 500, status: "active", financed_principal: null }
      : null,
  };
}

describe("findings by flow", () => {
  it("puts each code under its flow and FLOW_MISSING under the flow its message names", () => {
    expect(findingFlow({ code: "PAID_LATE", severity: "warning", message: "" })).toBe("capital");
    expect(findingFlow({ code: "TOTAL_MISMATCH", severity: "error", message: "" })).toBe("information");
    expect(findingFlow({ code: "FLOW_MISSING", severity: "error", message: "no logistics flow document in the trade" })).toBe("logistics");
    expect(findingFlow({ code: "PARTY_MISMATCH", severity: "error", message: "" })).toBe("trade");
    expect(findingFlow({ code: "SOMETHING_NEW", severity: "info", message: "" })).toBe("trade");
  });

  it("gives the four flows then the cross-flow column, each with its worst state, errors first", () => {
    const cols = groupFindings([
      { code: "FLOW_MISSING", severity: "error", message: "no commercial flow document in the trade" },
      { code: "PARTIALLY_PAID", severity: "info", message: "paid 50 of 100" },
      { code: "PAYMENT_OVERDUE", severity: "warning", message: "overdue" },
      { code: "TOTAL_MISMATCH", severity: "error", message: "total" },
      { code: "LINK_WEAK", severity: "warning", message: "weak" },
    ]);
    expect(cols.map((c) => c.flow)).toEqual(["commercial", "logistics", "capital", "information", "trade"]);
    expect(cols.map((c) => c.state)).toEqual(["missing", "ok", "warning", "error", "warning"]);
    expect(cols[2].findings.map((f) => f.code)).toEqual(["PAYMENT_OVERDUE", "PARTIALLY_PAID"]);
    expect(cols[1].findings).toEqual([]);
  });
});

describe("provenance tree", () => {
  it("hangs each holding under the one it was split or transferred from", () => {
    const tree = provenanceTree([holding("h3", "h2"), holding("h1", null), holding("h2", "h1"), holding("h4", "h1")]);
    expect(tree.map((n) => n.key)).toEqual(["h1"]);
    expect(tree[0].children.map((n) => n.key)).toEqual(["h2", "h4"]);
    expect(tree[0].children[0].children.map((n) => n.key)).toEqual(["h3"]);
  });

  it("makes a holding whose parent is not listed a root, and breaks a cycle instead of looping", () => {
    expect(provenanceTree([holding("h2", "gone")]).map((n) => n.key)).toEqual(["h2"]);
    const cyc = provenanceTree([holding("a", "b"), holding("b", "a")]);
    const count = (ns: typeof cyc): number => ns.reduce((s, n) => s + 1 + count(n.children), 0);
    expect(count(cyc)).toBe(2); // each holding shown once, as a root: no edge closes the loop
    expect(cyc.map((n) => n.key).sort()).toEqual(["a", "b"]);
  });
});

describe("item helpers", () => {
  const item = {
    holdings: [holding("h1", null, "me"), holding("h2", "h1", "me", "0.00"), holding("h3", "h1", "me", "10.00", true), holding("h4", "h1", "other")],
  } as unknown as ItemView;

  it("offers only my own holdings with something outstanding and no active pledge", () => {
    expect(ownFreeHoldings(item, "me").map((h) => h.holding_id)).toEqual(["h1"]);
  });

  it("says which payables wait for the debtor's confirmation", () => {
    expect(awaitsConfirmation({ basis: "verified", status: "active" })).toBe(true);
    expect(awaitsConfirmation({ basis: "confirmed", status: "active" })).toBe(false);
    expect(awaitsConfirmation({ basis: "verified", status: "settled" })).toBe(false);
  });

  it("reads the chain state from the detail, else from the status", () => {
    expect(chainState({ status: "approved", chain: { state: "refused", refusal: "presented elsewhere" } })).toBe("refused");
    expect(chainState({ status: "approved" })).toBe("pending");
    expect(chainState({ status: "active" })).toBe("applied");
    expect(chainState({ status: "failed" })).toBe("refused");
    expect(chainState({ status: "declined" })).toBe("none");
    expect(chainState({ status: "declined", chain: { state: "applied", refusal: null } })).toBe("none");
    expect(chainState({ status: "active", chain: { state: "applied", refusal: null } })).toBe("applied");
  });

  it("takes amounts as the API does and names a month", () => {
    expect(plainAmount(" 1,000.50 ")).toBe("1000.50");
    expect(plainAmount("12")).toBe("12");
    expect(plainAmount("-3")).toBeNull();
    expect(plainAmount("1.2.3")).toBeNull();
    expect(monthOf(new Date(Date.UTC(2026, 0, 31)))).toBe("2026-01");
  });
});

describe("who opens which screen", () => {
  const me = (org_types: string[], role: string): Me => ({ org_id: "o", org_types, role, user_id: "u", via: "session" });
  it("follows the API's policy table", () => {
    expect(canOpen(me(["enterprise"], "clerk"), "position")).toBe(true);
    expect(canOpen(me(["enterprise"], "clerk"), "trade")).toBe(false);
    expect(canOpen(me(["enterprise"], "finance_manager"), "financing")).toBe(true);
    expect(canOpen(me(["enterprise"], "admin"), "consents")).toBe(false);
    expect(canOpen(me(["core_enterprise"], "auditor"), "consents")).toBe(true);
    expect(canOpen(me(["bank"], "admin"), "payables")).toBe(false);
    expect(mayAct(me(["core_enterprise"], "finance_manager"), "grantConsent")).toBe(false);
    expect(mayAct(me(["core_enterprise"], "admin"), "grantConsent")).toBe(true);
    expect(mayAct(me(["enterprise"], "auditor"), "manage")).toBe(false);
    expect(canOpen(null, "position")).toBe(false);
  });
});

describe("my trades from my position", () => {
  it("names each item once, bounded, and each trade once with its parties and items", () => {
    const money = { minor: 1, amount: "0.01", currency: "CNY" };
    const pos = {
      holds: [{ holding: "h1", item: "i1", debtor: "D", maturity: "", outstanding: money, pledged_to: null },
              { holding: "h2", item: "i1", debtor: "D", maturity: "", outstanding: money, pledged_to: null }],
      owes: [{ item: "i2", creditor: "C", maturity: "", outstanding: money }, { item: "i3", creditor: "C", maturity: "", outstanding: money }],
    };
    expect(positionItems(pos, 10)).toEqual(["i1", "i2", "i3"]);
    expect(positionItems(pos, 2)).toEqual(["i1", "i2"]);
    const trades = tradesOfItems([
      { item_id: "i2", trade_id: "t-b", debtor: "Me", creditor: "C" },
      { item_id: "i1", trade_id: "t-a", debtor: "D", creditor: "Me" },
      { item_id: "i3", trade_id: "t-b", debtor: "Me", creditor: "C" },
    ]);
    expect(trades).toEqual([
      { trade_id: "t-a", label: "t-a · Me → D · i1" },
      { trade_id: "t-b", label: "t-b · C → Me · i2, i3" },
    ]);
  });
});
