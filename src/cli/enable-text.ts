/**
 * What `conn enable|disable` and `north enable|disable` print per id: what the user did, not
 * the supervisor's change kind ("removed (updated)"): `line1 disabled (its app will be
 * stopped)`, or `line1 already disabled` when nothing changed.
 * @param changes the stored changes, each with its id and whether it was `same`.
 */
export function enableText(
  changes: readonly { id: string; same: boolean }[],
  enabled: boolean,
): string {
  const done = enabled ? "enabled" : "disabled";
  const app = `its app will be ${enabled ? "started" : "stopped"}`;
  return changes
    .map((c) => (c.same ? `${c.id} already ${done}` : `${c.id} ${done} (${app})`))
    .join("\n");
}
