// The dashboard as a PDF report: a title, the date and every table (pdf-lib; Chinese text in
// Noto Sans Hans from the @embedpdf/fonts-sc npm package, embedded as a subset of the glyphs
// used). This module, pdf-lib and the font are loaded only when the user exports a report.

export interface ReportTable {
  name: string;
  columns: string[];
  rows: (string | number | null)[][];
}

/** An XLSX sheet name: at most 31 characters, none of []:*?/\, unique in `used`. */
export function sheetName(name: string, used: Set<string>): string {
  const base = name.replace(/[[\]:*?/\\]/g, " ").slice(0, 28).trim() || "Sheet";
  let title = base;
  for (let n = 2; used.has(title); n++) title = `${base} ${n}`;
  return title;
}

/** Splits `text` into lines no wider than `width` as measured by `measure` (CJK text breaks
 *  anywhere; Latin text at spaces where it can). */
export function wrap(text: string, width: number, measure: (s: string) => number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const ch of Array.from(text)) {
    if (measure(line + ch) <= width) {
      line += ch;
      continue;
    }
    const space = line.lastIndexOf(" ");
    if (ch !== " " && space > 0 && space > line.length - 12) {
      lines.push(line.slice(0, space));
      line = line.slice(space + 1) + ch;
    } else {
      lines.push(line);
      line = ch === " " ? "" : ch;
    }
  }
  if (line || !lines.length) lines.push(line);
  return lines;
}

export async function pdfBytes(title: string, meta: string, tables: ReportTable[], font: ArrayBuffer): Promise<Uint8Array> {
  const [{ PDFDocument, rgb }, fontkit] = await Promise.all([import("pdf-lib"), import("@pdf-lib/fontkit")]);
  const doc = await PDFDocument.create();
  doc.registerFontkit(fontkit.default);
  const face = await doc.embedFont(font, { subset: true });
  doc.setTitle(title);
  doc.setCreator("FourFlow");
  const [W, H, M] = [842, 595, 36]; // A4 landscape, points
  let page = doc.addPage([W, H]);
  let y = H - M;
  const text = (s: string, x: number, size: number, grey = 0) => page.drawText(s, { x, y, size, font: face, color: rgb(grey, grey, grey) });
  const need = (h: number) => {
    if (y - h < M) {
      page = doc.addPage([W, H]);
      y = H - M;
    }
  };
  text(title, M, 16);
  y -= 20;
  text(meta, M, 9, 0.35);
  y -= 24;
  for (const table of tables) {
    need(40);
    text(table.name, M, 12);
    y -= 18;
    const width = (W - 2 * M) / Math.max(1, table.columns.length);
    const size = 8;
    const measure = (s: string) => face.widthOfTextAtSize(s, size);
    const row = (cells: (string | number | null)[], grey: number) => {
      const wrapped = cells.map((c) => wrap(c === null || c === undefined ? "" : String(c), width - 4, measure));
      const height = Math.max(...wrapped.map((w) => w.length)) * (size + 2) + 4;
      need(height);
      wrapped.forEach((lines, i) => lines.forEach((l, j) => page.drawText(l, {
        x: M + i * width, y: y - (j + 1) * (size + 2), size, font: face, color: rgb(grey, grey, grey),
      })));
      y -= height;
      page.drawLine({ start: { x: M, y }, end: { x: W - M, y }, thickness: 0.3, color: rgb(0.8, 0.8, 0.8) });
    };
    row(table.columns, 0.3);
    if (!table.rows.length) row(["—"], 0.3);
    for (const r of table.rows) row(r, 0);
    y -= 14;
  }
  return doc.save();
}

export async function downloadPdf(name: string, title: string, meta: string, tables: ReportTable[]): Promise<void> {
  const { default: fontUrl } = await import("../../../node_modules/@embedpdf/fonts-sc/fonts/NotoSansHans-Regular.otf?url");
  const font = await (await fetch(fontUrl)).arrayBuffer();
  const bytes = await pdfBytes(title, meta, tables, font);
  const url = URL.createObjectURL(new Blob([new Uint8Array(bytes)], { type: "application/pdf" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = `${name}.pdf`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
