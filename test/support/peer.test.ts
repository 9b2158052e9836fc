import { expect, test } from "bun:test";
import { startPeer, tcpAccepts } from "./peer.ts";
import { freePort } from "./ports.ts";

// A peer that cannot start must fail its test at once, with the peer's own stderr (issue 12
// item 1: a pymodbus server missing serial_asyncio made the test time out after 5 s, silent).
test("a peer that exits before it is ready fails at once with its own stderr", async () => {
  const port = await freePort();
  const t0 = Date.now();
  const err = await startPeer(
    ["/usr/bin/python3", "-c", "import no_such_module_for_nodi"],
    () => tcpAccepts(port),
    { name: "fake peer", timeoutMs: 20_000 },
  ).then(
    () => undefined,
    (e: Error) => e,
  );
  expect(err?.message).toContain("fake peer exited with code 1");
  expect(err?.message).toContain("No module named 'no_such_module_for_nodi'");
  expect(Date.now() - t0).toBeLessThan(10_000);
});

test("a peer that serves is returned running", async () => {
  const port = await freePort();
  const p = await startPeer(
    ["/usr/bin/python3", "-m", "http.server", String(port), "--bind", "127.0.0.1"],
    () => tcpAccepts(port),
  );
  expect(p.exitCode).toBeNull();
  p.kill("SIGKILL");
  await p.exited;
});
