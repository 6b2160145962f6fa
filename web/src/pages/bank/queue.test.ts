import { describe, expect, it } from "vitest";
import { aboveFourEyes, alertCounts, modelBars, proposalLines, valuationText, type ModelRow, type Proposal } from "./queue";

describe("the review queue's figures", () => {
  it("shows expected loss and value today only when valued", () => {
    expect(valuationText({ state: "valued", expected_loss: "1234.50", value_today: "298000.12" }, "CNY")).toEqual({
      el: "CNY 1234.50",
      value: "CNY 298000.12",
    });
    expect(valuationText({ state: "settled" }, "CNY")).toBeNull();
    expect(valuationText(undefined, "CNY")).toBeNull();
  });

  it("compares amounts with the four-eyes limit without float drift", () => {
    expect(aboveFourEyes("100000.01", "100000.00")).toBe(true);
    expect(aboveFourEyes("100000.00", "100000.00")).toBe(false);
    expect(aboveFourEyes("99999.9", "100000")).toBe(false);
    expect(aboveFourEyes("225000.00", "100000")).toBe(true);
    expect(aboveFourEyes(null, "1")).toBe(false);
  });

  it("lists a proposal's content: a decision's outcome and reason, a policy's fields", () => {
    const decision: Proposal = {
      proposal_id: "apr-1", kind: "financing_decision", subject_id: "fin-1", proposed_by: "o@b.cn",
      proposed_at: "2026-12-07T00:00:00Z", content: { approve: false, reason: "thin history", as_of: "2026-12-07" },
    };
    expect(proposalLines(decision)).toEqual([
      { label: "outcome", value: "decline" },
      { label: "reason", value: "thin history" },
      { label: "as_of", value: "2026-12-07" },
    ]);
    const policy: Proposal = { ...decision, kind: "product_policy", content: { fields: { refer_pd: 0.05, bases: ["confirmed"] } } };
    expect(proposalLines(policy)).toEqual([
      { label: "bases", value: '["confirmed"]' },
      { label: "refer_pd", value: "0.05" },
    ]);
  });
});

describe("the model registry", () => {
  const m = (id: string, role: string, auc?: number): ModelRow => ({
    model_id: id, kind: "scorecard", role, as_of: "2026-12-01", training_rows: 10, data_hash: "h", note: null,
    validation: auc === undefined ? {} : { auc, ks: auc / 2 }, verdict: null, reference_size: 0, dropped: [],
  });

  it("puts the champion first, then challengers, with their AUC and KS", () => {
    const bars = modelBars([m("lightgbm-2", "challenger", 0.8), m("scorecard-3", "retired"), m("scorecard-1", "champion", 0.7)]);
    expect(bars.names).toEqual(["scorecard-1", "lightgbm-2", "scorecard-3"]);
    expect(bars.auc).toEqual([0.7, 0.8, null]);
    expect(bars.ks).toEqual([0.35, 0.4, null]);
  });

  it("counts alerts by kind and severity", () => {
    const a = (kind: string, severity: string) => ({
      alert_id: kind + severity, kind, severity, metric: "psi", value: 0.3, threshold: 0.25, model_id: null, bank_id: null,
      as_of: "2026-12-07", message: "",
    });
    expect(alertCounts([a("drift", "alert"), a("drift", "warning"), a("drift", "alert"), a("approval_rate", "warning")])).toEqual([
      { kind: "approval_rate", alert: 0, warning: 1 },
      { kind: "drift", alert: 2, warning: 1 },
    ]);
  });
});
