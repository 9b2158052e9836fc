import type { LoadError } from "../csv-file.ts";
import { type KepwareTag, type MapOptions, mapKepwareRow } from "./map-row.ts";
import { KEPWARE_COLUMNS, type KepwareRow, readKepwareCsv } from "./read.ts";

/** A row that cannot be mapped: its (stored) name, line and every reason, located. */
export interface UnmappableRow {
  name: string;
  line: number;
  reasons: LoadError[];
}

/** A Kepware export, mapped: tags, rows without an equivalent, warnings, errors. */
export interface KepwareMapping {
  /** The mapped tags in file order, each with its line. */
  tags: { line: number; cols: KepwareRow["cols"]; tag: KepwareTag }[];
  unmappable: UnmappableRow[];
  /** Differences of mapped tags (clamping, renames …), located. */
  warnings: LoadError[];
  /** Bad input (the file or a row is not a valid Kepware Modbus export); any error refuses the import. */
  errors: LoadError[];
}

/**
 * Reads and maps a whole KEPServerEX tag export ({@link readKepwareCsv}, {@link mapKepwareRow})
 * and checks across rows: two rows giving one tag name (also after renaming) is an error.
 * Never throws on bad input.
 */
export function mapKepwareFile(file: string, bytes: Uint8Array, opts: MapOptions): KepwareMapping {
  const read = readKepwareCsv(file, bytes);
  const out: KepwareMapping = { tags: [], unmappable: [], warnings: [], errors: [...read.errors] };
  const lineOf = new Map<string, number>();
  for (const row of read.rows) {
    const r = mapKepwareRow(row, opts);
    if (r.kind === "errors") {
      out.errors.push(...r.errors);
      continue;
    }
    const name = r.kind === "tag" ? r.tag.tag_name : r.name;
    const first = lineOf.get(name.toLowerCase());
    if (first !== undefined) {
      out.errors.push({
        file,
        line: row.line,
        column: row.cols.name ?? 0,
        field: KEPWARE_COLUMNS.name[0],
        message: `tag "${name}" is already on line ${first}: every tag name once (Kepware names ignore case; after renaming, two names may meet)`,
      });
      continue;
    }
    lineOf.set(name.toLowerCase(), row.line);
    if (r.kind === "tag") {
      out.tags.push({ line: row.line, cols: row.cols, tag: r.tag });
      out.warnings.push(...r.warnings);
    } else out.unmappable.push({ name, line: row.line, reasons: r.reasons });
  }
  return out;
}
