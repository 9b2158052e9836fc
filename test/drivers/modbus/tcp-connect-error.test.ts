import { expect, test } from "bun:test";
import { NodiError } from "../../../src/core/errors.ts";
import { tcpLinkOpener } from "../../../src/drivers/modbus/tcp-link.ts";
import { socketErrorText } from "../../../src/drivers/socket-error.ts";
import { freePort } from "../../support/ports.ts";

// A connect that fails says why in plain words with the errno code: Bun's own message for a
// refused connection is only "Failed to connect" (fresh-user check, 2026-12-02: status showed
// `connect to 127.0.0.1:15120: Failed to connect`).
test("a refused connection says so, with ECONNREFUSED", async () => {
  const port = await freePort(); // nothing listens there any more
  const err = await tcpLinkOpener("127.0.0.1", port)({ onData: () => {}, onClose: () => {} }, 2000)
    .then(() => undefined)
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(NodiError);
  expect((err as NodiError).reason).toBe("connect_failed");
  expect((err as NodiError).message).toBe(
    `connect to 127.0.0.1:${port}: connection refused: nothing listens on that port, or a firewall rejects it (ECONNREFUSED)`,
  );
});

test("socketErrorText: known codes in words, unknown ones keep their message and code", () => {
  const e = (message: string, code?: string) => Object.assign(new Error(message), { code });
  expect(socketErrorText(e("Failed to connect", "EHOSTUNREACH"))).toBe(
    "host unreachable: no route to it (wrong address, cable, VLAN or gateway) (EHOSTUNREACH)",
  );
  expect(socketErrorText(e("boom", "EWEIRD"))).toBe("boom (EWEIRD)");
  expect(socketErrorText(e("connect EWEIRD 1.2.3.4:5", "EWEIRD"))).toBe("connect EWEIRD 1.2.3.4:5");
  expect(socketErrorText(e("no code"))).toBe("no code");
});
