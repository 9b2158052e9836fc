/**
 * Splits `items` into consecutive chunks of at most `limit` items, for services bounded by a
 * server operation limit (OPC UA Part 5 §6.3.11, e.g. MaxNodesPerRead: 2,500 nodes against a
 * limit of 1,000 → chunks of 1,000, 1,000 and 500). A limit of 0 means "no limit" (one chunk).
 */
export function chunk<T>(items: readonly T[], limit: number): T[][] {
  if (items.length === 0) return [];
  if (!(limit > 0) || items.length <= limit) return [items.slice()];
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += limit) out.push(items.slice(i, i + limit));
  return out;
}

/** Server operation limits the driver obeys; 0 = the server states no limit. */
export interface OperationLimits {
  maxNodesPerRead: number;
  maxNodesPerWrite: number;
  maxMonitoredItemsPerCall: number;
}

/** Limits assumed when the server does not publish them (0 = unbounded). */
export const NO_LIMITS: OperationLimits = {
  maxNodesPerRead: 0,
  maxNodesPerWrite: 0,
  maxMonitoredItemsPerCall: 0,
};
