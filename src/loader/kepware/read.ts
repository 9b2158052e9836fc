import { type LoadError, parseCsv } from "../csv-file.ts";

/**
 * The columns of a KEPServerEX tag export (server manual, "CSV Import/Export"), by the key
 * this importer uses. `Tag Name` and `Address` are required; the others may be left out (a
 * spreadsheet-made file often has only the first few). Header names are matched without
 * regard to case and spacing; `Eng. Units` is the older spelling of `Eng Units`.
 */
export const KEPWARE_COLUMNS = {
  name: ["Tag Name"],
  address: ["Address"],
  dataType: ["Data Type"],
  respect: ["Respect Data Type"],
  access: ["Client Access"],
  scanRate: ["Scan Rate"],
  scaling: ["Scaling"],
  rawLow: ["Raw Low"],
  rawHigh: ["Raw High"],
  scaledLow: ["Scaled Low"],
  scaledHigh: ["Scaled High"],
  scaledType: ["Scaled Data Type"],
  clampLow: ["Clamp Low"],
  clampHigh: ["Clamp High"],
  units: ["Eng Units", "Eng. Units"],
  description: ["Description"],
  negate: ["Negate Value"],
} as const;
export type KepwareColumn = keyof typeof KEPWARE_COLUMNS;

const REQUIRED: readonly KepwareColumn[] = ["name", "address"];

/** One data row of a Kepware export: its cells by column key, and where it is. */
export interface KepwareRow {
  file: string;
  /** 1-based line of the record. */
  line: number;
  /** The cell of each column present (trimmed); absent columns are missing. */
  cells: Partial<Record<KepwareColumn, string>>;
  /** 1-based column of each column present. */
  cols: Partial<Record<KepwareColumn, number>>;
}

const norm = (h: string) => h.trim().toLowerCase().replace(/\s+/g, " ");
const KEY_OF = new Map<string, KepwareColumn>();
for (const [key, names] of Object.entries(KEPWARE_COLUMNS)) {
  for (const n of names) KEY_OF.set(norm(n), key as KepwareColumn);
}

/**
 * Reads a KEPServerEX tag export: UTF-8 CSV (the rules of `csv-file.ts`: BOM dropped, CRLF,
 * quoted cells), a header row naming the columns of {@link KEPWARE_COLUMNS}, one tag a row.
 * Never throws: an unknown or repeated column, a missing required one, a row with the wrong
 * number of cells come back as located errors.
 */
export function readKepwareCsv(
  file: string,
  bytes: Uint8Array,
): { rows: KepwareRow[]; errors: LoadError[] } {
  const r = parseCsv(file, bytes);
  const errors = [...r.errors];
  if (!r.table) return { rows: [], errors };
  const cols: Partial<Record<KepwareColumn, number>> = {};
  const known = Object.values(KEPWARE_COLUMNS).map((n) => n[0]);
  r.table.header.forEach((h, i) => {
    const key = KEY_OF.get(norm(h));
    if (key === undefined) {
      errors.push({
        file,
        line: 1,
        column: i + 1,
        message: `unknown column "${h}" for a Kepware tag export; its columns are ${known.join(", ")}`,
      });
    } else if (cols[key] !== undefined) {
      errors.push({ file, line: 1, column: i + 1, message: `column "${h}" appears twice` });
    } else cols[key] = i + 1;
  });
  for (const key of REQUIRED) {
    if (cols[key] === undefined) {
      errors.push({
        file,
        line: 1,
        column: 0,
        field: KEPWARE_COLUMNS[key][0],
        message: `missing column "${KEPWARE_COLUMNS[key][0]}" (required in a Kepware tag export)`,
      });
    }
  }
  if (errors.length > 0) return { rows: [], errors };
  const rows: KepwareRow[] = [];
  for (const rec of r.table.records) {
    const cells: KepwareRow["cells"] = {};
    for (const [key, col] of Object.entries(cols)) {
      cells[key as KepwareColumn] = rec.cells[col - 1] ?? "";
    }
    rows.push({ file, line: rec.line, cells, cols });
  }
  return { rows, errors };
}
