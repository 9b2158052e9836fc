import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { NodiError } from "../../core/errors.ts";

/**
 * Where the PKI of one OPC UA connection lives: `{dataDir}/pki/{conn_id}/` with the layout of
 * node-opcua-pki (the usual OPC UA layout, Part 12 §F.1):
 * - `own/certs/client_certificate.pem`, `own/private/private_key.pem`: the application
 *   instance certificate of this connection's client, created on the first connect;
 * - `trusted/certs/`: server certificates trusted by this connection;
 * - `rejected/`: server certificates seen and rejected (waiting for `nodi-edge opcua trust`);
 * - `issuers/`: CA certificates.
 * Pure path math: touches nothing.
 */
export function pkiFolder(dataDir: string, connId: string): string {
  return join(dataDir, "pki", connId);
}

/**
 * Creates `{dataDir}/pki` readable by its owner only (mode 0700: the private keys of every
 * connection's client are below it; docs/security.md "Secrets"), or narrows an existing one
 * to 0700 when it is ours (an older install made it 0750). Call before anything writes there.
 * @returns the folder.
 */
export function ensurePkiRoot(dataDir: string): string {
  const root = join(dataDir, "pki");
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const st = statSync(root);
  if ((st.mode & 0o077) !== 0 && st.uid === process.getuid?.()) chmodSync(root, 0o700);
  return root;
}

/** Certificate files (`.pem`/`.der`) in one PKI sub-folder; `[]` when it does not exist. */
function certFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.(pem|der)$/i.test(f))
    .sort();
}

/** The certificate files of a connection's PKI: own, trusted and rejected (file names). */
export function listCertificates(
  dataDir: string,
  connId: string,
): { folder: string; own: string[]; trusted: string[]; rejected: string[] } {
  const folder = pkiFolder(dataDir, connId);
  return {
    folder,
    own: certFiles(join(folder, "own", "certs")),
    trusted: certFiles(join(folder, "trusted", "certs")),
    rejected: certFiles(join(folder, "rejected")),
  };
}

/**
 * Trusts the server certificates a connection rejected: moves them from `rejected/` to
 * `trusted/certs/` (only the files whose name contains `match` when given, e.g. part of the
 * thumbprint). The next connect accepts that server.
 * @returns the file names moved.
 * @throws NodiError `not_found` when nothing (matching) was rejected.
 */
export function trustRejected(dataDir: string, connId: string, match?: string): string[] {
  const folder = pkiFolder(dataDir, connId);
  const rejectedDir = join(folder, "rejected");
  const files = certFiles(rejectedDir).filter(
    (f) => !match || f.toLowerCase().includes(match.toLowerCase()),
  );
  if (files.length === 0) {
    throw new NodiError(
      "not_found",
      `no rejected server certificate${match ? ` matching "${match}"` : ""} in ${rejectedDir} ` +
        `(connect once so that the server's certificate is seen, then trust it)`,
    );
  }
  const trustedDir = join(folder, "trusted", "certs");
  ensurePkiRoot(dataDir);
  mkdirSync(trustedDir, { recursive: true });
  for (const f of files) renameSync(join(rejectedDir, f), join(trustedDir, f));
  return files;
}
