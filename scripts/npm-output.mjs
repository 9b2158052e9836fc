// Folds npm's EBADENGINE warnings into one line. On Node.js < 22 `npm ci` prints a 5-line
// block for each of ~60 packages (node-opcua's and commander's `engines`), ~320 lines before
// the demo says anything; they are harmless here, since Bun (not Node.js) runs the code.

/**
 * Splits npm's stderr into what to show and a summary of the EBADENGINE warnings.
 * @param {string} text npm's stderr, as printed (`npm warn EBADENGINE …` lines).
 * @returns {{ kept: string, summary: string | undefined }} `kept`: every other line, in order;
 *   `summary`: one line naming how many packages want which Node.js, or undefined when none.
 */
export function foldEngineWarnings(text) {
  const kept = [];
  const packages = [];
  const required = new Set();
  let current;
  for (const line of text.split("\n")) {
    if (!/^npm warn EBADENGINE\b/.test(line)) {
      kept.push(line);
      continue;
    }
    const pkg = /package: '([^']+)'/.exec(line);
    if (pkg) packages.push(pkg[1]);
    const req = /required: \{ node: '([^']+)' \}/.exec(line);
    if (req) required.add(req[1]);
    const cur = /current: \{ node: '([^']+)'/.exec(line);
    if (cur) current = cur[1];
  }
  if (packages.length === 0) return { kept: kept.join("\n"), summary: undefined };
  const names = [...new Set(packages.map((p) => p.replace(/@[^@]*$/, "")))];
  const shown = names.filter((n) => !n.startsWith("node-opcua-"));
  const summary = `npm: ${packages.length} packages (${shown.join(", ")}${names.length > shown.length ? ", node-opcua-*" : ""}) ask for Node.js ${[...required].join(" or ")}${current ? `, this is ${current}` : ""} (EBADENGINE): harmless, Bun runs them`;
  return { kept: kept.join("\n"), summary };
}
