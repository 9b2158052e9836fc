// Must stay first: see reflect-polyfill.ts (needed by `bun build --compile`).
import "./reflect-polyfill.ts";
import {
  AttributeIds,
  BrowseDirection,
  type ClientSession,
  coerceNodeId,
  DataType,
  NodeClass,
  type ReferenceDescription,
} from "node-opcua-client";

/** One node found by {@link browseTree}. */
export interface BrowsedNode {
  /** Node id as text, e.g. `ns=1;s=Press.Speed` (use it as a tag's `node_id`). */
  node_id: string;
  browse_name: string;
  /** `Object`, `Variable`, `Method`, … */
  node_class: string;
  /** Built-in type of a Variable's value, e.g. `Double`; empty for other classes. */
  data_type: string;
  /** Depth below the start node (1 = direct child). */
  depth: number;
}

/**
 * Browses the hierarchical references (forward, OPC UA Part 4 §5.8.2) from `start` down to
 * `maxDepth` levels, following continuation points, and reads the built-in DataType of every
 * Variable found. Stops after `maxNodes` nodes.
 * @param start node id text, e.g. `i=85` (the Objects folder) or `ns=1;s=Press`.
 * @throws Error from node-opcua when the session breaks.
 */
export async function browseTree(
  session: ClientSession,
  start: string,
  maxDepth = 1,
  maxNodes = 5000,
): Promise<BrowsedNode[]> {
  const out: BrowsedNode[] = [];
  const visit = async (nodeId: string, depth: number): Promise<void> => {
    if (depth > maxDepth || out.length >= maxNodes) return;
    let result = await session.browse({
      nodeId,
      browseDirection: BrowseDirection.Forward,
      referenceTypeId: "HierarchicalReferences",
      includeSubtypes: true,
      resultMask: 0x3f,
    });
    const refs: ReferenceDescription[] = [...(result.references ?? [])];
    while (result.continuationPoint && result.continuationPoint.length > 0) {
      const [next] = await session.browseNext([result.continuationPoint], false);
      if (!next) break;
      result = next;
      refs.push(...(result.references ?? []));
    }
    const variables: BrowsedNode[] = [];
    for (const r of refs) {
      if (out.length >= maxNodes) break;
      const node: BrowsedNode = {
        node_id: r.nodeId.toString(),
        browse_name: r.browseName.name ?? "",
        node_class: NodeClass[r.nodeClass] ?? String(r.nodeClass),
        data_type: "",
        depth,
      };
      out.push(node);
      if (r.nodeClass === NodeClass.Variable) variables.push(node);
      await visit(node.node_id, depth + 1);
    }
    for (const v of variables) {
      try {
        const dt = await session.getBuiltInDataType(coerceNodeId(v.node_id));
        v.data_type = DataType[dt] ?? String(dt);
      } catch {
        v.data_type = "?";
      }
    }
  };
  await visit(start, 1);
  return out;
}

/** Reads the Value of `nodeIds` once: value, status name and source timestamp (ISO). */
export async function readValues(
  session: ClientSession,
  nodeIds: string[],
): Promise<
  Array<{ node_id: string; value: unknown; status: string; source_timestamp: string | null }>
> {
  const dvs = await session.read(
    nodeIds.map((nodeId) => ({ nodeId, attributeId: AttributeIds.Value })),
  );
  return dvs.map((dv, i) => ({
    node_id: nodeIds[i] as string,
    value: dv.value.value,
    status: dv.statusCode.name,
    source_timestamp: dv.sourceTimestamp ? dv.sourceTimestamp.toISOString() : null,
  }));
}
