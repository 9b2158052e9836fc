/**
 * Benchmark of the configuration path: CSV parse + validation, a full import (one
 * transaction), and the reads an interface app does at start. Run: `bun run bench/store/import.ts`.
 * Baseline (ratio 1.00): parsing and validating the CSV files without touching the DB.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderCsv } from "../../src/loader/export.ts";
import { type CsvInput, importCsv, parseConfig } from "../../src/loader/import.ts";
import type { ConnectionConfig } from "../../src/store/schema.ts";
import { openStore } from "../../src/store/store.ts";

const CONNS = Number(process.env.CONNS ?? 20);
const TAGS_PER_CONN = Number(process.env.TAGS ?? 500);

function makeConfigs(): ConnectionConfig[] {
  const out: ConnectionConfig[] = [];
  for (let c = 0; c < CONNS; c++) {
    const id = `plc${c}`;
    const blocks = [];
    const tags = [];
    const perBlock = 50;
    for (let b = 0; b * perBlock < TAGS_PER_CONN; b++) {
      blocks.push({
        conn_id: id,
        block_id: `b${b}`,
        table: "holding_registers",
        address: b * 100,
        count: 100,
        period_ms: 100,
      });
      for (let t = 0; t < perBlock && b * perBlock + t < TAGS_PER_CONN; t++) {
        tags.push({
          conn_id: id,
          tag_name: `t${b}_${t}`,
          block_id: `b${b}`,
          address: b * 100 + t * 2,
          data_type: "float32",
          byte_order: "CDAB",
          scale: 0.1,
        });
      }
    }
    out.push({
      connection: { conn_id: id, protocol: "modbus-tcp", host: "10.0.0.1", port: 502, unit_id: 1 },
      blocks,
      tags,
    } as unknown as ConnectionConfig);
  }
  return out;
}

async function time(label: string, runs: number, fn: () => void): Promise<[string, number]> {
  fn(); // warm up
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) fn();
  return [label, (performance.now() - t0) / runs];
}

const dir = mkdtempSync(join(tmpdir(), "ne-bench-store-"));
try {
  // Render the synthetic config as CSV through a scratch store.
  const scratch = openStore(join(dir, "scratch.db"));
  scratch.apply({ origin: "bench", put: makeConfigs() });
  const files = renderCsv(scratch.getAllConfigs());
  scratch.close();
  const enc = new TextEncoder();
  const inputs: CsvInput[] = (["connections", "blocks", "tags"] as const).map((k) => ({
    kind: k,
    file: `${k}.csv`,
    bytes: enc.encode(files[k]),
  }));
  let n = 0;
  const results = [
    await time("parse + validate CSV (baseline)", 5, () => {
      const r = parseConfig(inputs);
      if (!r.ok) throw new Error("bench config invalid");
    }),
    await time("import into a fresh DB (1 transaction)", 5, () => {
      const s = openStore(join(dir, `fresh${n++}.db`));
      importCsv(s, inputs);
      s.close();
    }),
  ];
  const s = openStore(join(dir, "main.db"));
  importCsv(s, inputs);
  results.push(await time("re-import, nothing changed", 5, () => void importCsv(s, inputs)));
  results.push(
    await time(
      "getConnectionConfig (one app start)",
      200,
      () => void s.getConnectionConfig("plc0"),
    ),
  );
  s.close();
  const base = results[0]![1];
  console.log(`${CONNS} connections × ${TAGS_PER_CONN} tags = ${CONNS * TAGS_PER_CONN} tags`);
  console.log("| case | ms | ratio |");
  console.log("|---|---:|---:|");
  for (const [label, ms] of results)
    console.log(`| ${label} | ${ms.toFixed(2)} | ${(ms / base).toFixed(2)} |`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
