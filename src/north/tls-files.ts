import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Northbound } from "../store/northbound-schema.ts";

const TLS_FILES = [
  ["tls_ca_file", "a PEM certificate (the CA that signed the broker's certificate)"],
  ["tls_cert_file", "a PEM certificate (the client certificate)"],
  ["tls_key_file", "an unencrypted PEM private key (the client key)"],
] as const;

/**
 * Checks the TLS files of a northbound before any CONNECT (docs/north.md "The program"):
 * each set path must be readable and hold what it is for — `tls_ca_file` and `tls_cert_file`
 * a PEM X.509 certificate, `tls_key_file` an unencrypted private key (PEM). The import checks
 * only that the paths are absolute (the files may be deployed later); a missing or wrong file
 * at start is a configuration error (exit 78), not "broker unreachable" retried for ever.
 * @returns one message per bad file, naming the field, the path and what is wrong (empty = fine).
 */
export function tlsFileProblems(
  north: Pick<Northbound, "tls_ca_file" | "tls_cert_file" | "tls_key_file">,
): string[] {
  const out: string[] = [];
  for (const [field, what] of TLS_FILES) {
    const path = north[field];
    if (!path) continue;
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      out.push(`${field} ${path} cannot be read: ${err.code ?? err.message}`);
      continue;
    }
    try {
      if (field === "tls_key_file") createPrivateKey(data);
      else new X509Certificate(data);
    } catch (e) {
      out.push(`${field} ${path} must be ${what}: ${(e as Error).message}`);
    }
  }
  return out;
}
