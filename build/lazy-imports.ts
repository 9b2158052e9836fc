/**
 * Bundle-time rewrites that make the compiled executable load parts of node-opcua's
 * dependencies on first use instead of at start (issue 15; docs/performance.md "OPC UA app
 * memory, third pass"). node-opcua is ESM, so everything its client imports statically is
 * evaluated when the OPC UA driver's chunk loads, including code an interface app runs only
 * to create its certificate once, or never:
 *
 * - the X.509 creation stack (`@peculiar/x509` with `tsyringe` and `reflect-metadata`,
 *   `@peculiar/webcrypto`), imported by `node-opcua-crypto/dist/source/x509/_crypto.js` and
 *   used only to create keys, certificates, CSRs and CRLs: {@link CRYPTO_FACADE};
 * - `sshpk` (reading SSH-format RSA keys, `readPrivateRsaKey` / `readPublicRsaKey`);
 * - `chokidar` (the certificate manager's file watchers; the driver disables them);
 * - `yauzl` (unzipping an OpenSSL download on Windows);
 * - `sterfive-bonjour-service` (mDNS, for servers announcing themselves);
 * - node-opcua-pki's certificate authority's table of CRL reasons (read from `@peculiar/x509`
 *   when the module loads; a client never runs a CA).
 *
 * Each rewrite turns an `import` into a `require()` made at the first use; Bun's bundler
 * then wraps the package so that it is evaluated only then. Every rewrite checks that the
 * text it replaces is still there: after a node-opcua upgrade that changed it the build
 * fails with the file's name instead of silently loading everything again.
 */
import type { BunPlugin } from "bun";

/** One import replaced in one file of node_modules. */
interface Rewrite {
  /** The file, as the end of its path. */
  file: string;
  /** The exact import statement in that file. */
  from: string;
  /** What replaces it: a binding of the same name that loads the package on first use. */
  to: string;
}

/** A default (or namespace) import as an object that `require`s the package on first property read. */
function lazyObject(name: string, pkg: string): string {
  return (
    `let __ne_lazy_${name};\n` +
    `const ${name} = new Proxy({}, { get: (_, k) => (__ne_lazy_${name} ??= require(${JSON.stringify(pkg)}))[k] });`
  );
}

/** The imports replaced, by file. */
export const LAZY_REWRITES: readonly Rewrite[] = [
  {
    file: "node-opcua-crypto/dist/source_nodejs/read.js",
    from: 'import sshpk from "sshpk";',
    to: lazyObject("sshpk", "sshpk"),
  },
  {
    file: "node-opcua-pki/dist/lib/pki/certificate_manager.js",
    from: 'import chokidar from "chokidar";',
    to: lazyObject("chokidar", "chokidar"),
  },
  {
    file: "node-opcua-pki/dist/lib/toolbox/with_openssl/install_prerequisite.js",
    from: 'import yauzl from "yauzl";',
    to: lazyObject("yauzl", "yauzl"),
  },
  {
    // a certificate authority's CRL reasons, a module-level table read from @peculiar/x509:
    // made a function of the first use (a client never runs a CA)
    file: "node-opcua-pki/dist/lib/ca/backends/native_ca_backend.js",
    from: "const REASON_TO_X509_CRL_REASON = {",
    to:
      "const REASON_TO_X509_CRL_REASON = new Proxy({}, { get: (_, k) => __ne_crlReasons()[k] });\n" +
      "function __ne_crlReasons() { return {",
  },
  {
    file: "node-opcua-pki/dist/lib/ca/backends/native_ca_backend.js",
    from: "    removeFromCRL: x509.X509CrlReason.removeFromCRL\n};",
    to: "    removeFromCRL: x509.X509CrlReason.removeFromCRL\n}; }",
  },
  {
    // used only as `new Bonjour()`
    file: "node-opcua-service-discovery/dist/bonjourHolder.js",
    from: 'import { Bonjour } from "sterfive-bonjour-service";',
    to:
      "let __ne_lazy_bonjour;\n" +
      "function Bonjour(...args) {\n" +
      '  return new (__ne_lazy_bonjour ??= require("sterfive-bonjour-service")).Bonjour(...args);\n' +
      "}",
  },
];

/** The file {@link CRYPTO_FACADE} replaces. */
export const CRYPTO_FILE = "node-opcua-crypto/dist/source/x509/_crypto.js";

/**
 * What the original `_crypto.js` (node-opcua-crypto 6.0) must contain for the facade to stand
 * in for it: its imports, its one top-level use of `@peculiar/x509` and exactly these exports.
 */
const CRYPTO_EXPECTED = [
  'import { Crypto as PeculiarWebCrypto } from "@peculiar/webcrypto";',
  'import "reflect-metadata";',
  'import * as x509 from "@peculiar/x509";',
  "x509.cryptoProvider.set(_crypto);",
  "export function getCrypto()",
  'export * as x509 from "@peculiar/x509";',
  "export function ensurePemTrailingNewline(pem)",
];

/**
 * Key usage bits of X.509 (RFC 5280 §4.2.1.3: digitalSignature is bit 0 … decipherOnly bit 8),
 * as `@peculiar/x509`'s `KeyUsageFlags` numbers them (1 << bit): node-opcua-crypto combines
 * them in module-level constants, so the facade answers them without loading the package
 * (a test compares them with the package's enum).
 */
export const KEY_USAGE_FLAGS: Readonly<Record<string, number>> = {
  digitalSignature: 1,
  nonRepudiation: 2,
  keyEncipherment: 4,
  dataEncipherment: 8,
  keyAgreement: 16,
  keyCertSign: 32,
  cRLSign: 64,
  encipherOnly: 128,
  decipherOnly: 256,
};

/**
 * The module that replaces `_crypto.js`, with its exports: `getCrypto()` (Node's crypto, which
 * has `subtle` in Bun, unless `IGNORE_SUBTLE_FROM_CRYPTO` is set; else `@peculiar/webcrypto`,
 * loaded then), `x509` (an object that loads `reflect-metadata` and `@peculiar/x509` at the
 * first read of any property but `KeyUsageFlags`, and gives the package its crypto provider
 * then, as the original does at load), `ensurePemTrailingNewline`.
 */
export const CRYPTO_FACADE = `import nativeCrypto from "node:crypto";
let _crypto;
let _x509;
export function getCrypto() {
  if (!_crypto) {
    _crypto = nativeCrypto?.subtle && !process.env.IGNORE_SUBTLE_FROM_CRYPTO
      ? nativeCrypto
      : new (require("@peculiar/webcrypto").Crypto)();
  }
  return _crypto;
}
function loadX509() {
  if (!_x509) {
    require("reflect-metadata");
    const m = require("@peculiar/x509");
    m.cryptoProvider.set(getCrypto());
    _x509 = m;
  }
  return _x509;
}
const KEY_USAGE_FLAGS = ${JSON.stringify(KEY_USAGE_FLAGS)};
export const x509 = new Proxy({}, {
  get: (_, k) => (k === "KeyUsageFlags" && !_x509 ? KEY_USAGE_FLAGS : loadX509()[k]),
  has: (_, k) => k in loadX509(),
});
export function ensurePemTrailingNewline(pem) {
  return pem.endsWith("\\n") ? pem : pem + "\\n";
}
`;

/**
 * The source the bundle gets for the file at `path` whose text is `text`: the facade, the
 * text with its rewrites applied, or `undefined` when the file is not one of them.
 * @throws Error naming the file when an expected text is not (exactly once) in it.
 */
export function rewriteForBundle(path: string, text: string): string | undefined {
  const p = path.replaceAll("\\", "/");
  if (p.endsWith(`/${CRYPTO_FILE}`)) {
    for (const t of CRYPTO_EXPECTED) {
      if (!text.includes(t))
        throw new Error(`lazy imports: ${CRYPTO_FILE} changed (no ${JSON.stringify(t)})`);
    }
    const exports = [...text.matchAll(/^export\s+(?:function|const|let|class|\*\s+as)\s+(\w+)/gm)]
      .map((m) => m[1])
      .sort();
    if (exports.join(",") !== "ensurePemTrailingNewline,getCrypto,x509")
      throw new Error(`lazy imports: ${CRYPTO_FILE} exports ${exports.join(", ")}`);
    return CRYPTO_FACADE;
  }
  const rules = LAZY_REWRITES.filter((r) => p.endsWith(`/${r.file}`));
  if (rules.length === 0) return undefined;
  let out = text;
  for (const r of rules) {
    if (out.split(r.from).length !== 2)
      throw new Error(`lazy imports: ${r.file} changed (no single ${JSON.stringify(r.from)})`);
    out = out.replace(r.from, r.to);
  }
  return out;
}

/** The Bun plugin applying {@link rewriteForBundle} (bundler and runtime plugins alike). */
export function lazyImportsPlugin(): BunPlugin {
  const files = [CRYPTO_FILE, ...LAZY_REWRITES.map((r) => r.file)];
  const filter = new RegExp(
    `(${files.map((f) => f.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join("|")})$`,
  );
  return {
    name: "nodi-edge-lazy-imports",
    setup(build) {
      build.onLoad({ filter }, async (args) => {
        const text = await Bun.file(args.path).text();
        return { contents: rewriteForBundle(args.path, text) ?? text, loader: "js" };
      });
    },
  };
}
