import { parse } from "csv-parse/sync";

/** One problem in an input file, located by 1-based line and column (0 = unknown). */
export interface LoadError {
  file: string;
  line: number;
  column: number;
  /** The field (column header) concerned, when there is one. */
  field?: string;
  message: string;
}

/** Formats an error as `file:line:column (field): message` (parts that are unknown are left out). */
export function formatLoadError(e: LoadError): string {
  const at = `${e.file}${e.line > 0 ? `:${e.line}` : ""}${e.line > 0 && e.column > 0 ? `:${e.column}` : ""}`;
  return `${at}${e.field ? ` (${e.field})` : ""}: ${e.message}`;
}

/** One data record of a CSV file: its first line number and its cells. */
export interface CsvRecord {
  /** 1-based line of the record's first line. */
  line: number;
  cells: string[];
}

/** A parsed CSV file: header cells and data records (blank lines and `#` comment lines skipped). */
export interface CsvTable {
  file: string;
  header: string[];
  records: CsvRecord[];
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });
/** Separators of spreadsheets saved in other locales, refused with a message naming them. */
const DELIMITERS = [";", "\t", "|"];

function delimiterError(file: string, line: number, delim: string): LoadError {
  return {
    file,
    line,
    column: 1,
    message: `columns must be separated by commas, got ${delim === "\t" ? "tabs" : `"${delim}"`} (save as comma-separated CSV)`,
  };
}
const UTF8_LAX = new TextDecoder("utf-8");

/**
 * Decodes `bytes` as UTF-8 (a leading BOM is dropped) and parses it as comma-separated values
 * (RFC 4180: quoted cells may hold commas, quotes doubled, line breaks; CRLF, LF or CR line
 * ends). Cells are trimmed. Lines whose first character is `#` are comments.
 * Never throws: problems come back as {@link LoadError}s, e.g. non-UTF-8 bytes, an empty file,
 * a `;` or tab delimiter, an unclosed quote, a record with more or fewer cells than the header.
 */
export function parseCsv(
  file: string,
  bytes: Uint8Array,
): { table?: CsvTable; errors: LoadError[] } {
  const errors: LoadError[] = [];
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    const lax = UTF8_LAX.decode(bytes);
    const at = lax.indexOf("\uFFFD");
    const before = lax.slice(0, Math.max(0, at));
    const line = before.split("\n").length;
    const column = at - before.lastIndexOf("\n");
    errors.push({
      file,
      line,
      column,
      message: "the file is not UTF-8 text (an invalid byte sequence here); save it as CSV UTF-8",
    });
    return { errors };
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  text = text.replace(/\r\n?/g, "\n");
  if (text.trim() === "") {
    errors.push({
      file,
      line: 1,
      column: 1,
      message: "the file is empty: expected a header line naming the columns",
    });
    return { errors };
  }
  // Spot a `;`/tab-separated file before parsing: its quoted cells (`"Line 1; north"`) would
  // otherwise fail as a quote error that never mentions the delimiter.
  const lines = text.split("\n");
  const headAt = lines.findIndex((l) => l.trim() !== "" && !l.startsWith("#"));
  const headLine = lines[headAt] ?? "";
  if (headAt >= 0 && !headLine.includes(",")) {
    const delim = DELIMITERS.find((d) => headLine.includes(d));
    if (delim) {
      errors.push(delimiterError(file, headAt + 1, delim));
      return { errors };
    }
  }
  let rows: { record: string[]; info: { lines: number; raw?: string } }[];
  try {
    rows = parse(text, {
      info: true,
      raw: true,
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
      comment: "#",
      comment_no_infix: true,
    }) as unknown as typeof rows;
  } catch (e) {
    const err = e as { lines?: number; message?: string };
    errors.push({
      file,
      line: err.lines ?? 0,
      column: 0,
      message: `not valid CSV: ${err.message ?? String(e)}`,
    });
    return { errors };
  }
  const records: CsvRecord[] = rows.map((r) => {
    // `raw` starts with the blank and comment lines skipped before the record: they are not
    // part of it (counting their breaks put every record after one on a line too early).
    const raw = ((r as { raw?: string }).raw ?? "").replace(/^(?:[ \t]*\n|#[^\n]*\n)*/, "");
    const inner = raw.replace(/\n$/, "");
    const breaks = inner.match(/\n/g)?.length ?? 0;
    return { line: r.info.lines - breaks, cells: r.record };
  });
  const head = records.shift();
  if (!head) {
    errors.push({ file, line: 1, column: 1, message: "no header line (only comments)" });
    return { errors };
  }
  if (head.cells.length === 1) {
    const only = head.cells[0] ?? "";
    const delim = DELIMITERS.find((d) => only.includes(d));
    if (delim) {
      errors.push(delimiterError(file, head.line, delim));
      return { errors };
    }
  }
  const table: CsvTable = { file, header: head.cells, records };
  for (const rec of records) {
    if (rec.cells.length !== head.cells.length) {
      errors.push({
        file,
        line: rec.line,
        column: Math.min(rec.cells.length, head.cells.length) + 1,
        message: `expected ${head.cells.length} cells like the header, got ${rec.cells.length}${rec.cells.length > head.cells.length ? " (a comma inside a value must be quoted)" : ""}`,
      });
    }
  }
  return { table, errors };
}
