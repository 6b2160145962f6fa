import { describe, expect, it } from "vitest";
import { sheetsOf, xlsxBlob } from "./xlsx";

const tables = [
  { name: "集中度：按银行", columns: ["机构", "笔数", "占比"], rows: [["中国工商银行苏州分行", 3, "60.00%"], ["无数据", null, ""]] },
  { name: "集中度：按银行", columns: ["a"], rows: [] },
];

describe("xlsx export", () => {
  it("makes one sheet per table with a bold header and empty cells left empty", () => {
    const sheets = sheetsOf(tables);
    expect(sheets.map((s) => s.sheet)).toEqual(["集中度：按银行", "集中度：按银行 2"]);
    expect(sheets[0].data[0][0]).toEqual({ value: "机构", fontWeight: "bold" });
    expect(sheets[0].data[1]).toEqual([{ value: "中国工商银行苏州分行" }, { value: 3 }, { value: "60.00%" }]);
    expect(sheets[0].data[2]).toEqual([{ value: "无数据" }, null, null]);
  });
  it("writes a zip (XLSX) file", async () => {
    const blob = await xlsxBlob(tables);
    const head = new Uint8Array(await blob.arrayBuffer()).slice(0, 2);
    expect(String.fromCharCode(...head)).toBe("PK");
    expect(blob.size).toBeGreaterThan(1000);
  });
});
