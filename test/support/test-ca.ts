import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** PEM files of a test CA, a server certificate it signed (127.0.0.1, localhost) and a client certificate. */
export interface TestPki {
  ca: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync("openssl", args, { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")} failed:\n${r.stderr}`);
}

/**
 * Makes a private CA in `dir` (openssl), with a server certificate for `127.0.0.1` /
 * `localhost` (subjectAltName, as TLS clients check) and a client certificate, valid 1 day.
 * `name` prefixes the files, so two CAs can share a directory.
 */
export function makeTestPki(dir: string, name = "test"): TestPki {
  const f = (s: string) => join(dir, `${name}-${s}`);
  const p: TestPki = {
    ca: f("ca.pem"),
    caKey: f("ca.key"),
    serverCert: f("server.pem"),
    serverKey: f("server.key"),
    clientCert: f("client.pem"),
    clientKey: f("client.key"),
  };
  openssl(
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      p.caKey,
      "-out",
      p.ca,
      "-days",
      "1",
      "-subj",
      `/CN=${name} test CA`,
    ],
    dir,
  );
  const ext = f("san.ext");
  writeFileSync(ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  for (const [cert, key, cn, extra] of [
    [p.serverCert, p.serverKey, "127.0.0.1", ["-extfile", ext]],
    [p.clientCert, p.clientKey, "nodi-edge-client", []],
  ] as const) {
    const csr = `${cert}.csr`;
    openssl(
      ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", `/CN=${cn}`],
      dir,
    );
    openssl(
      [
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        p.ca,
        "-CAkey",
        p.caKey,
        "-CAcreateserial",
        "-out",
        cert,
        "-days",
        "1",
        ...extra,
      ],
      dir,
    );
  }
  return p;
}
