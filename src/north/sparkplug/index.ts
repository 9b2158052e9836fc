import type { FormatFactory } from "../format.ts";
import { fileBdSeqStore } from "./bdseq.ts";
import { SparkplugEdgeNode } from "./edge-node.ts";

/**
 * The Sparkplug B 3.0 format of `ne-north` (`kind = sparkplug`): a {@link SparkplugEdgeNode}
 * whose bdSeq lives in `{dataDir}/sparkplug-bdseq`.
 * @throws NodiError(kind `configuration`) when the northbound has no `group_id`.
 */
export const sparkplugFormat: FormatFactory = (ctx) =>
  new SparkplugEdgeNode(ctx, fileBdSeqStore(ctx.dataDir, ctx.log));

export { SparkplugEdgeNode } from "./edge-node.ts";
