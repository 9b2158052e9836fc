/**
 * A stand-in app for the service-manager contract suite (the managers are tested here, not
 * the app): `fixture-app.ts --conn-id=ID` (an interface app) or `--north-id=ID` (a northbound
 * app: its files are named `north.ID.…`). Appends its pid to `$FIXTURE_DIR/ID.pids`, prints
 * one line, then exits with the code in `$FIXTURE_DIR/ID.exit` when that file exists (or in
 * `ID.exit-once`, which it deletes first), else runs until SIGTERM (exit 0).
 */
import { appendFileSync, existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const dir = process.env.FIXTURE_DIR ?? "/tmp";
const north = process.argv.find((a) => a.startsWith("--north-id="));
const id = north
  ? `north.${north.slice(11)}`
  : (process.argv.find((a) => a.startsWith("--conn-id=")) ?? "--conn-id=x").slice(10);
appendFileSync(join(dir, `${id}.pids`), `${process.pid}\n`);
console.log(`hello from ${id}`);
const exitFile = join(dir, `${id}.exit`);
if (existsSync(exitFile)) {
  process.exit(Number(readFileSync(exitFile, "utf8").trim()));
}
const onceFile = join(dir, `${id}.exit-once`);
if (existsSync(onceFile)) {
  const code = Number(readFileSync(onceFile, "utf8").trim());
  rmSync(onceFile);
  process.exit(code);
}
process.on("SIGTERM", () => process.exit(0));
setInterval(() => {}, 1000);
