/**
 * The OPC UA standard nodeset (namespace 0, OPC 10000-5 and the other base specifications)
 * the press simulator loads, as node-opcua-nodesets' precompiled image
 * `Opc.Ua.NodeSet2.ndjson.gz` (~190 kB, the same nodes as the 4 MB XML, replayed instead of
 * parsed). It is embedded in the compiled executable (`with { type: "file" }`), where the
 * nodeset path `nodesets.standard` names a file under node_modules that is not there: the
 * compiled `nodi-edge opcua sim` died with `[NODE-OPCUA-E02] cannot find nodeset2 xml file`.
 * From source the import is the file in node_modules; both read it the same way.
 */
import { readFileSync } from "node:fs";
import imagePath from "node-opcua-nodesets/nodesets/Opc.Ua.NodeSet2.ndjson.gz" with {
  type: "file",
};

/**
 * The standard nodeset as a node-opcua `NodesetSource` (`OPCUAServerOptions.nodesets`): its
 * image bytes with a name for node-opcua's messages.
 * @throws Error when the embedded file cannot be read (a broken build).
 */
export function standardNodeset(): { name: string; source: Uint8Array } {
  return { name: "Opc.Ua.NodeSet2 (image)", source: new Uint8Array(readFileSync(imagePath)) };
}
