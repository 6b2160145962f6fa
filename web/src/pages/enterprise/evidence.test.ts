import { describe, expect, it } from "vitest";
import { bankStatus, disputable, withdrawable, issuable, plainDay, evidenceLines, evidenceSummary, pageQuery, shortHash, type DocumentEvidence, type StatusReport } from "./evidence";

function doc(id: string, at: string | null, anchored: boolean, signer: string | null = null): DocumentEvidence {
  return {
    document_id: id,
    kind: "invoice",
    number: `N-${id}`,
    issue_date: "2026-08-01",
    source_format: "native-json",
    media_type: "application/json",
    source: null,
    submitted_by: `org-${id}`,
    submitted_by_name: id === "c" ? "" : `Org ${id}`,
    submitted_at: at,
    signature: signer ? { algorithm: "eip191", signer } : null,
    fingerprint: `sha256:${"ab".repeat(32)}`,
    anchor: anchored
      ? { state: "anchored", tx_hash: "0xabc", block_number: 7, merkle: { scheme: "s", leaf_index: 0, siblings: ["1", "2"], root: "0xroot" } }
      : { state: "pending", batch_id: null, reason: "document c is not in an anchoring batch yet" },
  };
}

describe("the evidence chain", () => {
  it("orders documents by submission time and says who, when, signed and anchored", () => {
    const lines = evidenceLines([
      doc("b", "2026-08-02T10:00:00.123456+00:00", true, "0x11"),
      doc("a", "2026-08-01T09:00:00+00:00", true),
      doc("c", null, false),
    ]);
    expect(lines.map((l) => l.key)).toEqual(["c", "a", "b"]);
    const [c, a, b] = lines;
    expect(a.at).toBe("2026-08-01 09:00:00 UTC");
    expect(a.submitter).toBe("Org a");
    expect(c.submitter).toBe("org-c"); // no name: the id
    expect(b.signer).toBe("0x11");
    expect(a.signer).toBeNull();
    expect(b.anchored && b.tx === "0xabc" && b.block === 7 && b.root === "0xroot" && b.proofLength === 2).toBe(true);
    expect(c.anchored).toBe(false);
    expect(c.waits).toContain("not in an anchoring batch");
  });

  it("counts anchored and signed documents", () => {
    expect(evidenceSummary([doc("a", null, true, "0x1"), doc("b", null, false)])).toEqual({ total: 2, anchored: 1, signed: 1 });
    expect(evidenceSummary([])).toEqual({ total: 0, anchored: 0, signed: 0 });
  });

  it("shortens hashes keeping the algorithm", () => {
    expect(shortHash(`sha256:${"0123456789".repeat(6)}`, 4)).toBe("sha256:0123…6789");
    expect(shortHash("0xabc")).toBe("0xabc");
    expect(shortHash(null)).toBe("—");
  });
});

describe("paging and disputes", () => {
  it("turns a table page into offset and limit within the API's bounds", () => {
    expect(pageQuery(1, 20)).toEqual({ offset: 0, limit: 20 });
    expect(pageQuery(3, 20)).toEqual({ offset: 40, limit: 20 });
    expect(pageQuery(0, 500)).toEqual({ offset: 0, limit: 200 });
  });

  it("offers a dispute only on an item neither settled nor already disputed", () => {
    expect(disputable({ status: "active", disputed: false })).toBe(true);
    expect(disputable({ status: "overdue" })).toBe(true);
    expect(disputable({ status: "settled", disputed: false })).toBe(false);
    expect(disputable({ status: "active", disputed: true })).toBe(false);
    expect(withdrawable({ disputed: true })).toBe(true);
    expect(withdrawable({ disputed: false })).toBe(false);
    expect(withdrawable({})).toBe(false);
  });
});

describe("issuing the item from the trade view", () => {
  it("is offered on a verified trade I sell with no item yet", () => {
    expect(issuable("verified", { role: "seller", item_id: null })).toBe(true);
    expect(issuable("partial", { role: "seller", item_id: null })).toBe(true);
    expect(issuable("verified", null)).toBe(true); // typed, not on the listed page: the API decides
  });
  it("is not offered before verification, to the buyer, or once issued", () => {
    expect(issuable("failed", { role: "seller", item_id: null })).toBe(false);
    expect(issuable("failed", null)).toBe(false);
    expect(issuable(undefined, null)).toBe(false);
    expect(issuable("verified", { role: "buyer", item_id: null })).toBe(false);
    expect(issuable("verified", { role: null, item_id: null })).toBe(false);
    expect(issuable("verified", { role: "seller", item_id: "item-1" })).toBe(false);
  });
  it("takes a business date as YYYY-MM-DD only", () => {
    expect(plainDay(" 2026-12-07 ")).toBe("2026-12-07");
    expect(plainDay("2026-02-30")).toBeNull();
    expect(plainDay("07/12/2026")).toBeNull();
    expect(plainDay("")).toBeNull();
  });
});

describe("a bank's payment status beside the payment (pacs.002)", () => {
  const report = (code: string, over: Partial<StatusReport> = {}): StatusReport => ({
    document_id: `sts-${code}`, number: `STS-${code}`, issue_date: "2019-04-25", code,
    meaning: code === "RJCT" ? "rejected" : code === "ACSC" ? "accepted, settlement completed on the debtor's account" : "pending",
    reasons: code === "RJCT" ? ["AM04"] : [], rejected: code === "RJCT", settled: code === "ACSC", ...over,
  });
  it("tags a rejected payment, a settled one, a pending one, and the status itself", () => {
    const rejected = bankStatus({ counts: false, reports: [report("PDNG"), report("RJCT")] });
    expect(rejected).toEqual({
      tone: "bad", codes: "PDNG, RJCT",
      title: "STS-PDNG: PDNG (pending) 2019-04-25 · STS-RJCT: RJCT (rejected; AM04) 2019-04-25",
    });
    expect(bankStatus({ counts: true, reports: [report("ACSC")] })?.tone).toBe("good");
    expect(bankStatus({ counts: true, reports: [report("PDNG")] })?.tone).toBe("info");
    expect(bankStatus({ ...report("RJCT"), payments: ["p1"] })?.tone).toBe("bad");
    expect(bankStatus(null)).toBeNull();
    expect(bankStatus(undefined)).toBeNull();
    const [line] = evidenceLines([{ ...doc("p1", null, false), payment_status: { counts: false, reports: [report("RJCT")] } }]);
    expect(line.bank?.codes).toBe("RJCT");
    expect(evidenceLines([doc("x", null, false)])[0].bank).toBeNull();
  });
});
