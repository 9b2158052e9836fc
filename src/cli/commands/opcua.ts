import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { NodiError } from "../../core/errors.ts";
import { EXIT } from "../../core/exit-codes.ts";
import { silentLogger } from "../../core/log.ts";
import { listCertificates, trustRejected } from "../../drivers/opcua/pki.ts";
import type { Connection } from "../../store/schema.ts";
import type { CliContext } from "../context.ts";
import { CliExit } from "../exit.ts";
import { formatTable } from "../table.ts";

// node-opcua is imported inside the actions only: other commands must not pay its load time.

/** The connection `connId` from the source of truth; must be an `opcua` connection. */
function opcuaConnection(ctx: CliContext, connId: string): Connection {
  const db = ctx.settings().db;
  if (!existsSync(db)) throw new NodiError("not_found", `no database at ${db} (set NE_DB or --db)`);
  const store = ctx.openStore();
  try {
    const c = store.getConnection(connId);
    if (!c) throw new NodiError("not_found", `connection ${connId} does not exist in ${db}`);
    if (c.protocol !== "opcua") {
      throw new NodiError("configuration", `connection ${connId} is ${c.protocol}, not opcua`);
    }
    return c;
  } finally {
    store.close();
  }
}

/** Ends the run with exit 64 (usage) after printing `message`. */
function usage(ctx: CliContext, message: string): never {
  ctx.io.err(`nodi-edge opcua: ${message}\n`);
  throw new CliExit(EXIT.USAGE);
}

/**
 * The connection to talk to: `--url` (anonymous, security None unless given) or a configured
 * connection, `connId` (from `--conn` or a positional CONN_ID). Both, or neither, is a usage
 * error (exit 64).
 */
function target(
  ctx: CliContext,
  connId: string | undefined,
  o: Record<string, string | undefined>,
): Connection {
  if (o.url && connId) usage(ctx, "give either --conn CONN_ID or --url, not both");
  if (o.url) {
    return {
      conn_id: "cli",
      protocol: "opcua",
      endpoint_url: o.url,
      security_mode: (o.securityMode as Connection["security_mode"]) ?? null,
      security_policy: (o.securityPolicy as Connection["security_policy"]) ?? null,
      username: o.username ?? null,
      password: o.password ?? null,
      timeout_ms: 5000,
      connect_timeout_ms: 10_000,
    } as Connection;
  }
  if (!connId) usage(ctx, "give --conn CONN_ID or --url opc.tcp://host:port");
  return opcuaConnection(ctx, connId);
}

/** True for text shaped like an OPC UA node id (`i=85`, `ns=1;s=Press.Speed`, `nsu=…;g=…`). */
function looksLikeNodeId(text: string): boolean {
  return /^((ns|nsu)=[^;]*;)?[isgb]=/.test(text);
}

async function withSession<T>(
  ctx: CliContext,
  conn: Connection,
  fn: (
    session: NonNullable<import("../../drivers/opcua/driver.ts").OpcuaDriver["session"]>,
  ) => Promise<T>,
): Promise<T> {
  const { OpcuaDriver } = await import("../../drivers/opcua/index.ts");
  const driver = new OpcuaDriver(conn, { log: silentLogger, dataDir: ctx.settings().dataDir });
  driver.configure([], []);
  await driver.connect();
  try {
    const session = driver.session;
    if (!session) throw new NodiError("communication", "no session");
    return await fn(session);
  } finally {
    await driver.close();
  }
}

/** Resolves on SIGINT or SIGTERM. */
function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off("SIGINT", done);
      process.off("SIGTERM", done);
      resolve();
    };
    process.on("SIGINT", done);
    process.on("SIGTERM", done);
  });
}

function int(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new NodiError(
        "configuration",
        `--${name} must be a whole number, got ${JSON.stringify(v)}`,
      );
    return n;
  };
}

const connectOptions = (cmd: Command) =>
  cmd
    .option("--conn <conn_id>", "a configured opcua connection (its settings and PKI)")
    .option("--url <opc.tcp://…>", "connect to this endpoint instead of a configured connection")
    .option("--security-mode <mode>", "with --url: None, Sign or SignAndEncrypt")
    .option("--security-policy <policy>", "with --url: e.g. Basic256Sha256")
    .option("--username <name>", "with --url: user name")
    .option("--password <password>", "with --url: password");

/**
 * `nodi-edge opcua …`: the OPC UA tools (docs/opcua.md).
 * - `trust CONN_ID [--match TEXT]`: moves the server certificates the connection rejected
 *   into its trusted list (`{NE_DATA_DIR}/pki/CONN_ID/`);
 * - `certs CONN_ID`: lists own, trusted and rejected certificates;
 * - `browse [CONN_ID | --conn CONN_ID | --url URL] [--node ID] [--depth N]`: lists nodes
 *   (node id, class, DataType);
 * - `read (--conn CONN_ID | --url URL) NODE_ID…`: reads values once (every positional
 *   argument is a node id);
 * - `sim [--port 4841]`: runs the press simulator until Ctrl-C.
 */
export function register(program: Command, ctx: CliContext): void {
  const opcua = program
    .command("opcua")
    .description("OPC UA: certificates, browse, read, simulator");

  opcua
    .command("trust")
    .description("trust the server certificate(s) that connection CONN_ID rejected")
    .argument("<conn_id>", "the opcua connection")
    .option(
      "--match <text>",
      "only certificates whose file name contains TEXT (e.g. part of the thumbprint)",
    )
    .action((connId: string, o: { match?: string }) => {
      if (existsSync(ctx.settings().db)) opcuaConnection(ctx, connId);
      const dataDir = ctx.settings().dataDir;
      const moved = trustRejected(dataDir, connId, o.match);
      const folder = join(dataDir, "pki", connId, "trusted", "certs");
      ctx.print({ conn_id: connId, trusted: moved, folder }, () =>
        [
          `trusted for ${connId} (${folder}):`,
          ...moved.map((f) => `  ${f}`),
          "the next connect accepts the server",
        ].join("\n"),
      );
    });

  opcua
    .command("certs")
    .description("list the own, trusted and rejected certificates of connection CONN_ID")
    .argument("<conn_id>", "the opcua connection")
    .action((connId: string) => {
      const l = listCertificates(ctx.settings().dataDir, connId);
      const rows = [
        ...l.own.map((f) => ["own", f]),
        ...l.trusted.map((f) => ["trusted", f]),
        ...l.rejected.map((f) => ["rejected", f]),
      ];
      ctx.print(
        { conn_id: connId, ...l },
        () => `${l.folder}\n${formatTable(["list", "file"], rows)}`,
      );
    });

  connectOptions(
    opcua
      .command("browse")
      .description(
        "list the nodes below a node (default: the Objects folder), with node ids and DataTypes",
      )
      .argument("[conn_id]", "a configured opcua connection (same as --conn; or use --url)")
      .option("--node <node_id>", "start node", "i=85")
      .option("--depth <n>", "levels to descend", int("depth"), 2),
  ).action(
    async (
      connId: string | undefined,
      o: Record<string, string | undefined> & { depth: number; node: string },
    ) => {
      if (connId && o.conn && connId !== o.conn)
        usage(ctx, `two connections given: ${connId} and --conn ${o.conn}`);
      const conn = target(ctx, connId ?? o.conn, o);
      const { browseTree } = await import("../../drivers/opcua/browse.ts");
      const nodes = await withSession(ctx, conn, (s) => browseTree(s, o.node, o.depth));
      ctx.print(nodes, () =>
        formatTable(
          ["node_id", "class", "data_type", "browse_name"],
          nodes.map((n) => [
            n.node_id,
            n.node_class,
            n.data_type,
            `${"  ".repeat(n.depth - 1)}${n.browse_name}`,
          ]),
        ),
      );
    },
  );

  connectOptions(
    opcua
      .command("read")
      .description("read the values of nodes once (from --conn CONN_ID or --url)")
      .argument("<node_id...>", "node ids, e.g. ns=1;s=Press.Speed"),
  ).action(async (ids: string[], o: Record<string, string | undefined>) => {
    if (!o.url && !o.conn && ids.length > 1 && ids[0] && !looksLikeNodeId(ids[0])) {
      usage(
        ctx,
        `"${ids[0]}" is not a node id; name the connection with --conn ${ids[0]} (or use --url)`,
      );
    }
    const conn = target(ctx, o.conn, o);
    const { readValues } = await import("../../drivers/opcua/browse.ts");
    const rows = await withSession(ctx, conn, (s) => readValues(s, ids));
    ctx.print(rows, () =>
      formatTable(
        ["node_id", "value", "status", "source_timestamp"],
        rows.map((r) => [
          r.node_id,
          JSON.stringify(r.value) ?? "",
          r.status,
          r.source_timestamp ?? "",
        ]),
      ),
    );
  });

  opcua
    .command("sim")
    .description("run the simulated press OPC UA server (ns=1;s=Press.*) until Ctrl-C")
    .option("--host <addr>", "listen address", "127.0.0.1")
    .option("--port <n>", "TCP port", int("port"), 4841)
    .option("--pki <dir>", "the simulator's PKI folder (default: {NE_DATA_DIR}/pki/sim-opcua)")
    .option("--tick-ms <n>", "period of the changing press values", int("tick-ms"), 500)
    .option(
      "--bench-items <n>",
      "extra Press.Bench.V0000… variables changing every --bench-period-ms",
      int("bench-items"),
      0,
    )
    .option("--bench-period-ms <n>", "period of the bench variables", int("bench-period-ms"), 100)
    .option(
      "--max-nodes-per-read <n>",
      "operation limit MaxNodesPerRead (0 = none)",
      int("max-nodes-per-read"),
      0,
    )
    .action(async (o) => {
      const { startOpcuaSim } = await import("../../sim/opcua/server.ts");
      const sim = await startOpcuaSim({
        host: o.host,
        port: o.port,
        pkiDir: o.pki ?? join(ctx.settings().dataDir, "pki", "sim-opcua"),
        tickMs: o.tickMs,
        benchItems: o.benchItems,
        benchPeriodMs: o.benchPeriodMs,
        maxNodesPerRead: o.maxNodesPerRead,
      });
      const info = {
        simulator: "opcua",
        endpoint_url: sim.endpointUrl,
        variables: sim.variableCount,
      };
      ctx.print(
        info,
        () =>
          `opcua press simulator at ${sim.endpointUrl} (${sim.variableCount} variables); Ctrl-C stops`,
      );
      await untilSignal();
      await sim.stop();
    });
}
