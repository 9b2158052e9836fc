/**
 * Writes `src/sim/opcua/Opc.Ua.NodeSet2.ndjson.br`: node-opcua-nodesets' precompiled image of
 * the OPC UA standard nodeset (`Opc.Ua.NodeSet2.ndjson.gz`, ~189 kB), recompressed with Brotli
 * (quality 11: ~131 kB), which the press simulator embeds in the compiled executable
 * (`src/sim/opcua/standard-nodeset.ts`; the size budget of docs/packaging.md).
 * Run it after upgrading node-opcua: `bun run scripts/vendor-opcua-nodeset.ts`.
 * `test/sim/opcua-nodeset.test.ts` fails while the vendored file differs from node_modules.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gunzipSync } from "node:zlib";

/** node-opcua-nodesets' own image of the standard nodeset (gzip). */
export const STANDARD_IMAGE_GZ = Bun.resolveSync(
  "node-opcua-nodesets/nodesets/Opc.Ua.NodeSet2.ndjson.gz",
  import.meta.dir,
);
/** The vendored image. */
export const VENDORED_IMAGE = join(
  import.meta.dir,
  "..",
  "src/sim/opcua/Opc.Ua.NodeSet2.ndjson.br",
);

/** The image's NDJSON, inflated from node_modules' gzip. */
export function standardImage(): Buffer {
  return gunzipSync(readFileSync(STANDARD_IMAGE_GZ));
}

if (import.meta.main) {
  const raw = standardImage();
  const br = brotliCompressSync(raw, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_LGWIN]: 24,
      [constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
    },
  });
  writeFileSync(VENDORED_IMAGE, br);
  console.log(`${VENDORED_IMAGE}: ${br.length} bytes (${raw.length} inflated)`);
}
