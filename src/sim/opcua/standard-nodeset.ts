/**
 * The OPC UA standard nodeset (namespace 0, OPC 10000-5 and the other base specifications)
 * the press simulator loads, as node-opcua-nodesets' precompiled image (the same nodes as the
 * 4 MB XML, replayed instead of parsed). It is embedded in the compiled executable
 * (`with { type: "file" }`), where `nodesets.standard` names a file under node_modules that is
 * not there: the compiled `nodi-edge opcua sim` died with `[NODE-OPCUA-E02] cannot find
 * nodeset2 xml file`. Embedded as Brotli (quality 11, ~131 kB) rather than the package's gzip
 * (~189 kB), for the executable's size budget (docs/packaging.md);
 * `scripts/vendor-opcua-nodeset.ts` writes it (`src/sim/opcua/Opc.Ua.NodeSet2.ndjson.br`) from
 * node_modules, and `test/sim/opcua-nodeset.test.ts` checks that it still is node_modules'
 * image.
 */
import { readFileSync } from "node:fs";
import { brotliDecompressSync } from "node:zlib";
import imagePath from "./Opc.Ua.NodeSet2.ndjson.br" with { type: "file" };

/**
 * The standard nodeset as a node-opcua `NodesetSource` (`OPCUAServerOptions.nodesets`): the
 * image, inflated (~2 MB of NDJSON), with a name for node-opcua's messages.
 * @throws Error when the embedded file cannot be read or inflated (a broken build).
 */
export function standardNodeset(): { name: string; source: Uint8Array } {
  return {
    name: "Opc.Ua.NodeSet2 (image)",
    source: new Uint8Array(brotliDecompressSync(readFileSync(imagePath))),
  };
}
