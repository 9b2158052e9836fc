import { escapeControlChars } from "../core/control-chars.ts";

/**
 * Formats rows as a plain text table with a header line, columns padded to their widest cell.
 * A control character in a cell (TAB, LF and ESC included) is shown as its escape (`\u000a`),
 * so that a cell never breaks the table's lines or drives the terminal.
 */
export function formatTable(
  header: readonly string[],
  rawRows: readonly (readonly string[])[],
): string {
  const rows = rawRows.map((r) => r.map((c) => escapeControlChars(c)));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}
