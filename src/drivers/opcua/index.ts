// Must stay first: see reflect-polyfill.ts (needed by `bun build --compile`).
import "./reflect-polyfill.ts";
import type { DriverFactory } from "../driver.ts";
import { OpcuaDriver } from "./driver.ts";

/**
 * Creates the OPC UA driver of one `opcua` connection (see `driver.ts` and docs/opcua.md).
 * Loads node-opcua: import this module only dynamically (see `registry.ts`).
 */
export const createOpcuaDriver: DriverFactory = (connection, deps) =>
  new OpcuaDriver(connection, deps);

export { OpcuaDriver } from "./driver.ts";
