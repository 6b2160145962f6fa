import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { PDFDocument } from "pdf-lib";
import { describe, expect, it } from "vitest";
import { pdfBytes, sheetName, wrap } from "./report";

const FONT = fileURLToPath(new URL("../../../node_modules/@embedpdf/fonts-sc/fonts/NotoSansHans-Regular.otf", import.meta.url));

describe("report exports", () => {
  it("names sheets within Excel's rules, uniquely", () => {
    const used = new Set<string>();
    const a = sheetName("集中度：按核心企业 / bank [x]", used);
    expect(a).toBe("集中度：按核心企业   bank  x");
    used.add(a);
    expect(sheetName("集中度：按核心企业 / bank [x]", used)).toBe(`${a} 2`);
    expect(sheetName("A".repeat(40), new Set()).length).toBeLessThanOrEqual(31);
  });
  it("wraps text to a width, Latin at spaces and CJK anywhere", () => {
    const measure = (s: string) => s.length;
    expect(wrap("the quick brown fox", 10, measure)).toEqual(["the quick", "brown fox"]);
    expect(wrap("苏州市姑苏区供应链金融服务平台", 6, measure)).toEqual(["苏州市姑苏区", "供应链金融服", "务平台"]);
    expect(wrap("", 5, measure)).toEqual([""]);
  });
  it("writes a PDF with Chinese text in an embedded subset of Noto Sans Hans", async () => {
    const font = readFileSync(FONT);
    const rows = Array.from({ length: 80 }, (_, i) => [`苏州宏图精工零部件有限公司 ${i}`, "CNY", i, "1,000,000.00", "12.50%"]);
    const bytes = await pdfBytes("监管看板 · 全平台", "截至 2026-12-07", [
      { name: "集中度：按核心企业", columns: ["机构", "币种", "笔数", "金额", "占比"], rows },
      { name: "空表", columns: ["a"], rows: [] },
    ], font.buffer.slice(font.byteOffset, font.byteOffset + font.byteLength) as ArrayBuffer);
    expect(new TextDecoder().decode(bytes.slice(0, 5))).toBe("%PDF-");
    expect(bytes.length).toBeLessThan(font.length / 10); // the subset, not the 8 MB font
    const doc = await PDFDocument.load(bytes);
    expect(doc.getPageCount()).toBeGreaterThan(1);
    expect(doc.getTitle()).toBe("监管看板 · 全平台");
  }, 60_000);
});
