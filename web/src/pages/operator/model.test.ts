import { describe, expect, it } from "vitest";
import type { Me } from "../../api/client";
import { CATALOGUES } from "../../i18n";
import { can } from "../../session";
import { OUTCOMES, chosenPlatform, daysOpen, mayDecide, mayOpen, resolutionBody, runBy, type Platform } from "./model";

const me = (types: string[], role: string, org = "org-1"): Me => ({ org_id: org, org_types: types, role, user_id: "u", via: "password" });
const platform = (id: string, name: string, operator: string): Platform => ({
  id, name, operator_org_id: operator, scenarios: ["manufacturing"], region: "", created_at: "2026-01-01T00:00:00Z",
});

describe("who opens and acts on the operator's and a local government's screens (api/policy.py)", () => {
  it("a local government's admin, clerk and auditor open its platform's admissions; only its admin reviews", () => {
    for (const role of ["admin", "clerk", "auditor"]) {
      expect(mayOpen(me(["local_government"], role), "platformAdmissions"), role).toBe(true);
      expect(can(me(["local_government"], role), "platformAdmissions"), role).toBe(true);
    }
    expect(mayOpen(me(["local_government"], "finance_manager"), "platformAdmissions")).toBe(false);
    expect(mayDecide(me(["local_government"], "admin"), "platformAdmissions")).toBe(true);
    expect(mayDecide(me(["local_government"], "clerk"), "platformAdmissions")).toBe(false);
    for (const types of [["platform_operator"], ["regulator"], ["enterprise"], ["bank"]]) {
      expect(can(me(types, "admin"), "platformAdmissions"), types[0]).toBe(false);
      expect(mayDecide(me(types, "admin"), "platformAdmissions"), types[0]).toBe(false);
    }
  });

  it("the operator's admin, clerk and auditor list disputes; only its admin resolves one", () => {
    for (const role of ["admin", "clerk", "auditor"]) expect(can(me(["platform_operator"], role), "disputes"), role).toBe(true);
    expect(can(me(["platform_operator"], "credit_officer"), "disputes")).toBe(false);
    expect(mayDecide(me(["platform_operator"], "admin"), "disputes")).toBe(true);
    expect(mayDecide(me(["platform_operator"], "auditor"), "disputes")).toBe(false);
    expect(mayDecide(me(["platform_operator"], "admin"), "admissions")).toBe(true);
    expect(mayDecide(me(["platform_operator"], "clerk"), "admissions")).toBe(false);
    for (const types of [["core_enterprise"], ["regulator"], ["local_government"], ["bank"]]) {
      expect(can(me(types, "admin"), "disputes"), types[0]).toBe(false);
      expect(mayDecide(me(types, "admin"), "disputes"), types[0]).toBe(false);
    }
    expect(can(null, "disputes")).toBe(false);
    expect(mayDecide(null, "disputes")).toBe(false);
  });
});

describe("a local government's platforms", () => {
  const all = [platform("p2", "姑苏区平台", "gov-1"), platform("p1", "吴中区平台", "gov-2"), platform("p3", "Agri", "gov-1")];
  it("are those it runs, by name", () => {
    expect(runBy(all, "gov-1").map((p) => p.id)).toEqual(["p3", "p2"]);
    expect(runBy(all, "gov-9")).toEqual([]);
  });
  it("the one asked for when it runs it, else the first", () => {
    const mine = runBy(all, "gov-1");
    expect(chosenPlatform(mine, "p2")?.id).toBe("p2");
    expect(chosenPlatform(mine, "p1")?.id).toBe("p3"); // another's platform is not shown
    expect(chosenPlatform(mine, null)?.id).toBe("p3");
    expect(chosenPlatform([], "p2")).toBeNull();
  });
});

describe("a dispute's resolution", () => {
  it("needs an outcome and a reason, trimmed", () => {
    expect(resolutionBody("rejected", "  every unit was received  ")).toEqual({ outcome: "rejected", reason: "every unit was received" });
    expect(resolutionBody("upheld", "short")).toEqual({ outcome: "upheld", reason: "short" });
    expect(resolutionBody("upheld", "   ")).toBeNull();
    expect(resolutionBody(undefined, "x")).toBeNull();
    expect(resolutionBody("maybe", "x")).toBeNull();
  });
  it("counts the days since the dispute", () => {
    expect(daysOpen("2026-12-01", "2026-12-07")).toBe(6);
    expect(daysOpen("2026-12-07", "2026-12-07")).toBe(0);
    expect(daysOpen(null, "2026-12-07")).toBeNull();
    expect(daysOpen("not a day", "2026-12-07")).toBeNull();
  });
  it("names each outcome in both languages", () => {
    for (const o of OUTCOMES) {
      for (const key of [`disputes.outcome.${o}`, `disputes.short.${o}`] as const) {
        expect(CATALOGUES.zh[key]).toMatch(/\p{Script=Han}/u);
        expect(CATALOGUES.en[key]).not.toMatch(/\p{Script=Han}/u);
      }
    }
  });
});
