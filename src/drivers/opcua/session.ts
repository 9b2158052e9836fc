import { hostname } from "node:os";
import { OPCUACertificateManager } from "node-opcua-certificate-manager";
import {
  AttributeIds,
  type ClientSession,
  MessageSecurityMode,
  OPCUAClient,
  SecurityPolicy,
  type UserIdentityInfo,
  UserTokenType,
} from "node-opcua-client";
import { NodiError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { Connection } from "../../store/schema.ts";
import { NO_LIMITS, type OperationLimits } from "./batch.ts";
import { ensurePkiRoot, pkiFolder } from "./pki.ts";

/** An open OPC UA client with its session (one per connection). */
export interface OpcuaLink {
  client: OPCUAClient;
  session: ClientSession;
  limits: OperationLimits;
  /** Closes session and channel; never throws. */
  close(): Promise<void>;
}

const MODES: Record<string, MessageSecurityMode> = {
  None: MessageSecurityMode.None,
  Sign: MessageSecurityMode.Sign,
  SignAndEncrypt: MessageSecurityMode.SignAndEncrypt,
};

/**
 * Security mode and policy of a connection. Defaults: mode `None` with policy `None`; a
 * signing mode without a policy gets `Basic256Sha256`; a policy other than `None` without a
 * mode gets `SignAndEncrypt`.
 * @throws NodiError `configuration` for mode None with a signing policy, or the reverse.
 */
export function securityOf(c: Connection): {
  mode: MessageSecurityMode;
  policy: SecurityPolicy;
  label: string;
} {
  const policyName =
    c.security_policy ??
    (c.security_mode && c.security_mode !== "None" ? "Basic256Sha256" : "None");
  const modeName = c.security_mode ?? (policyName !== "None" ? "SignAndEncrypt" : "None");
  if ((modeName === "None") !== (policyName === "None")) {
    throw new NodiError(
      "configuration",
      `connection ${c.conn_id}: security_mode ${modeName} cannot be used with security_policy ${policyName} ` +
        "(None goes with None; Sign/SignAndEncrypt need a policy such as Basic256Sha256)",
    );
  }
  const policy = SecurityPolicy[policyName as keyof typeof SecurityPolicy] as SecurityPolicy;
  return {
    mode: MODES[modeName] as MessageSecurityMode,
    policy,
    label: `${modeName}/${policyName}`,
  };
}

/** Races `p` against a timer; on expiry rejects with a `timeout` NodiError. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new NodiError("timeout", `${what}: no answer within ${ms} ms`, "timeout")),
      ms,
    );
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads the server's operation limits (Server.ServerCapabilities.OperationLimits, OPC UA
 * Part 5 §6.3.11: MaxNodesPerRead i=11705, MaxNodesPerWrite i=11707,
 * MaxMonitoredItemsPerCall i=11714). A limit the server does not expose counts as 0 (none).
 */
export async function readOperationLimits(session: ClientSession): Promise<OperationLimits> {
  const ids = [11705, 11707, 11714];
  try {
    const dvs = await session.read(
      ids.map((i) => ({ nodeId: `i=${i}`, attributeId: AttributeIds.Value })),
    );
    const num = (i: number) => {
      const dv = dvs[i];
      const v = dv?.statusCode.isGood() ? Number(dv.value.value) : 0;
      return Number.isFinite(v) && v > 0 ? v : 0;
    };
    return { maxNodesPerRead: num(0), maxNodesPerWrite: num(1), maxMonitoredItemsPerCall: num(2) };
  } catch {
    return { ...NO_LIMITS };
  }
}

/**
 * Explains a connect failure as a NodiError. An untrusted server certificate becomes a
 * `communication` error (the runtime retries) whose message tells the user where the
 * certificate was put and to run `nodi-edge opcua trust CONN_ID`.
 */
export function explainConnectError(e: unknown, c: Connection, dataDir: string): NodiError {
  if (e instanceof NodiError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  const m = /server Certificate verification failed with err (\w+)/i.exec(msg);
  if (m) {
    const status = m[1] as string;
    return new NodiError(
      "communication",
      `connection ${c.conn_id}: the certificate of the OPC UA server at ${c.endpoint_url} is not trusted (${status}); ` +
        `it was stored in ${pkiFolder(dataDir, c.conn_id)}/rejected. If this is the right server, run ` +
        `\`nodi-edge opcua trust ${c.conn_id}\` and the next connect will accept it.`,
      status,
      { endpoint_url: c.endpoint_url },
      { cause: e },
    );
  }
  const status = /\b(Bad[A-Za-z]+)\b/.exec(msg)?.[1];
  return new NodiError(
    "communication",
    `connection ${c.conn_id}: cannot connect to ${c.endpoint_url}: ${msg}`,
    status ?? "communication",
    { endpoint_url: c.endpoint_url },
    { cause: e },
  );
}

/**
 * Opens a client, secure channel and session to the connection's endpoint. The PKI is
 * `{dataDir}/pki/{conn_id}` (see `pki.ts`); unknown server certificates are rejected (never
 * accepted automatically). One try, no automatic reconnection inside node-opcua: the runtime
 * owns back-off (`connectionStrategy.maxRetry = 0`).
 * @param onLost called once when the channel or session breaks after it was open.
 * @throws NodiError `communication` (refused, untrusted certificate, access denied) or
 *   `timeout` (`connect_timeout_ms` passed).
 */
export async function openLink(
  c: Connection,
  deps: { dataDir: string; log: Logger },
  onLost: (e: NodiError) => void,
): Promise<OpcuaLink> {
  const sec = securityOf(c);
  if (!c.endpoint_url)
    throw new NodiError("configuration", `connection ${c.conn_id}: endpoint_url is required`);
  ensurePkiRoot(deps.dataDir);
  const certificateManager = new OPCUACertificateManager({
    rootFolder: pkiFolder(deps.dataDir, c.conn_id),
    automaticallyAcceptUnknownCertificate: false,
    disableFileWatchers: true,
  });
  const client = OPCUAClient.create({
    applicationName: `NodiEdge-${c.conn_id}`,
    applicationUri: `urn:${hostname()}:nodi-edge:${c.conn_id}`,
    clientName: `nodi-edge ${c.conn_id}`,
    clientCertificateManager: certificateManager,
    securityMode: sec.mode,
    securityPolicy: sec.policy,
    endpointMustExist: false,
    connectionStrategy: { maxRetry: 0, initialDelay: 200, maxDelay: 1000 },
    transportTimeout: c.connect_timeout_ms,
    defaultTransactionTimeout: Math.max(c.timeout_ms, 1000),
    keepSessionAlive: true,
    keepAliveInterval: Math.max(2000, Math.min(10_000, c.timeout_ms * 5)),
    requestedSessionTimeout: 60_000,
  });
  let open = false;
  let lostOnce = false;
  const lost = (why: string) => {
    if (!open || lostOnce) return;
    lostOnce = true;
    onLost(
      new NodiError("communication", `connection ${c.conn_id}: OPC UA ${why}`, "disconnected"),
    );
  };
  client.on("connection_lost", () => lost("connection lost"));
  client.on("close", (err?: Error | null) => {
    if (err) lost(`channel closed: ${err.message}`);
  });
  const dispose = async () => {
    await client.disconnect().catch(() => {});
    // The client took a reference on the manager and releases it only when its disconnect gets
    // that far, which a client that never connected skips: without this, dispose() below only
    // drops that reference and node-opcua-pki keeps the manager (6 Maps, its key and
    // certificates, ~40 KiB) in its static set of active instances: once per failed connect.
    certificateManager.referenceCounter = 0;
    await certificateManager.dispose().catch(() => {});
  };
  try {
    await withTimeout(
      client.connect(c.endpoint_url),
      c.connect_timeout_ms,
      `connect to ${c.endpoint_url}`,
    );
    const identity: UserIdentityInfo = c.username
      ? { type: UserTokenType.UserName, userName: c.username, password: c.password ?? "" }
      : { type: UserTokenType.Anonymous };
    const session = await withTimeout(
      client.createSession(identity),
      c.connect_timeout_ms,
      "create session",
    );
    session.on("session_closed", () => lost("session closed"));
    session.on("keepalive_failure", () => lost("session keep-alive failed"));
    const limits = await readOperationLimits(session);
    open = true;
    deps.log.info({ endpoint: c.endpoint_url, security: sec.label, limits }, "opcua session open");
    return {
      client,
      session,
      limits,
      async close() {
        open = false;
        await withTimeout(session.close(true), 2000, "close session").catch(() => {});
        await dispose();
      },
    };
  } catch (e) {
    await dispose();
    throw explainConnectError(e, c, deps.dataDir);
  }
}
