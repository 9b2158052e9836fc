// Must stay first: the Reflect polyfill node-opcua needs in compiled executables.
import "../../drivers/opcua/reflect-polyfill.ts";
import "./compiled-manifest.ts"; // before node-opcua-server: its manifest in the compiled form
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { OPCUACertificateManager } from "node-opcua-certificate-manager";
import { MessageSecurityMode, SecurityPolicy } from "node-opcua-client";
import { OPCUAServer } from "node-opcua-server";
import { buildPressModel } from "./press-model.ts";
import { standardNodeset } from "./standard-nodeset.ts";

/** Options of {@link startOpcuaSim}. */
export interface OpcuaSimOptions {
  /** TCP port; default 4841 (the demo's `press1` endpoint). */
  port?: number;
  /** Host to listen on and to advertise; default `127.0.0.1`. */
  host?: string;
  /**
   * Directory of the simulator's own PKI (server certificate, trusted client certificates).
   * Required: node-opcua would otherwise use `~/.config/node-opcua-default`.
   */
  pkiDir: string;
  /** Period of the changing press variables, ms; default 500. 0 = nothing changes. */
  tickMs?: number;
  /** Variables `Press.Bench.V0000…` created for the benchmark; default 0. */
  benchItems?: number;
  /** Period at which every bench variable changes, ms; default 100. */
  benchPeriodMs?: number;
  /** Server operation limits (OPC UA Part 5 §6.3.11 OperationLimitsType); 0 = no limit. */
  maxNodesPerRead?: number;
  maxNodesPerWrite?: number;
  maxMonitoredItemsPerCall?: number;
  /** Accepted user name → password; anonymous is allowed unless `allowAnonymous` is false. */
  users?: Record<string, string>;
  allowAnonymous?: boolean;
  /** Trust every client certificate (default true: a test fixture, not a hardened server). */
  acceptAnyClientCertificate?: boolean;
}

/** A running simulator. */
export interface OpcuaSim {
  /** `opc.tcp://{host}:{port}` */
  endpointUrl: string;
  port: number;
  /** Number of variables in the address space. */
  variableCount: number;
  /** The server certificate file (PEM), e.g. for a test that pre-trusts it. */
  certificateFile: string;
  /** The node-opcua server, for tests that need to poke at it. */
  server: OPCUAServer;
  /** Shuts the server down (sessions closed, port released). Never throws. */
  stop(): Promise<void>;
}

/**
 * Starts the simulated press OPC UA server (node-opcua) on `host:port` with the address space
 * of {@link buildPressModel}, every usual security mode and policy, anonymous and user/password
 * logins. Takes about 1–3 s (the standard nodeset is loaded; the certificate is created on the
 * first start in `pkiDir` and reused after).
 * @throws Error when the port is in use or the nodeset cannot be loaded.
 */
export async function startOpcuaSim(options: OpcuaSimOptions): Promise<OpcuaSim> {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? 4841;
  mkdirSync(options.pkiDir, { recursive: true });
  const serverCertificateManager = new OPCUACertificateManager({
    rootFolder: join(options.pkiDir, "server"),
    automaticallyAcceptUnknownCertificate: options.acceptAnyClientCertificate ?? true,
    disableFileWatchers: true,
  });
  const userCertificateManager = new OPCUACertificateManager({
    rootFolder: join(options.pkiDir, "user"),
    automaticallyAcceptUnknownCertificate: true,
    disableFileWatchers: true,
  });
  const users = options.users ?? {};
  const server = new OPCUAServer({
    port,
    host,
    hostname: host,
    nodesets: [standardNodeset()],
    serverCertificateManager,
    userCertificateManager,
    securityModes: [
      MessageSecurityMode.None,
      MessageSecurityMode.Sign,
      MessageSecurityMode.SignAndEncrypt,
    ],
    securityPolicies: [
      SecurityPolicy.None,
      SecurityPolicy.Basic128Rsa15,
      SecurityPolicy.Basic256,
      SecurityPolicy.Basic256Sha256,
      SecurityPolicy.Aes128_Sha256_RsaOaep,
      SecurityPolicy.Aes256_Sha256_RsaPss,
    ],
    allowAnonymous: options.allowAnonymous ?? true,
    userManager: {
      isValidUser: (u: string, p: string) => users[u] !== undefined && users[u] === p,
    },
    serverCapabilities: {
      maxSessions: 50,
      operationLimits: {
        maxNodesPerRead: options.maxNodesPerRead ?? 0,
        maxNodesPerWrite: options.maxNodesPerWrite ?? 0,
        maxMonitoredItemsPerCall: options.maxMonitoredItemsPerCall ?? 0,
      },
    },
    buildInfo: { productName: "Nodi Edge press simulator", manufacturerName: "Nodi Edge" },
    disableDiscovery: false,
  });
  await server.initialize();
  const addressSpace = server.engine.addressSpace;
  if (!addressSpace) throw new Error("opcua sim: no address space");
  const model = buildPressModel(addressSpace.getOwnNamespace(), addressSpace.rootFolder.objects, {
    benchItems: options.benchItems ?? 0,
  });
  await server.start();
  const timers: ReturnType<typeof setInterval>[] = [];
  const tickMs = options.tickMs ?? 500;
  if (tickMs > 0) timers.push(setInterval(() => model.tick(), tickMs));
  if ((options.benchItems ?? 0) > 0) {
    timers.push(setInterval(() => model.tickBench(), options.benchPeriodMs ?? 100));
  }
  let stopped = false;
  return {
    endpointUrl: `opc.tcp://${host}:${port}`,
    port,
    variableCount: model.variableCount,
    certificateFile: server.certificateFile,
    server,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const t of timers) clearInterval(t);
      try {
        await server.shutdown(0);
      } catch {
        // already down
      }
      await serverCertificateManager.dispose().catch(() => {});
      await userCertificateManager.dispose().catch(() => {});
    },
  };
}
