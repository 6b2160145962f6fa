// The dashboard's tables as one XLSX workbook, a sheet per table (write-excel-file, loaded
// only when the user exports).
import writeXlsxFile from "write-excel-file/browser";
import type { ReportTable } from "./report";
import { sheetName } from "./report";

/** The workbook's sheets: a bold header row, then the rows (empty cells left empty). */
export function sheetsOf(tables: ReportTable[]) {
  const used = new Set<string>();
  return tables.map((table) => {
    const title = sheetName(table.name, used);
    used.add(title);
    return {
      sheet: title,
      stickyRowsCount: 1,
      columns: table.columns.map((c) => ({ width: Math.min(40, Math.max(10, c.length * 2)) })),
      data: [
        table.columns.map((c) => ({ value: c, fontWeight: "bold" as const })),
        ...table.rows.map((row) => row.map((v) => (v === null || v === undefined || v === "" ? null : { value: v }))),
      ],
    };
  });
}

export async function xlsxBlob(tables: ReportTable[]): Promise<Blob> {
  return writeXlsxFile(sheetsOf(tables)).toBlob();
}

export async function downloadXlsx(name: string, tables: ReportTable[]): Promise<void> {
  await writeXlsxFile(sheetsOf(tables)).toFile(`${name}.xlsx`);
}
