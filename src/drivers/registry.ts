import { NodiError } from "../core/errors.ts";
import type { Protocol } from "../store/schema.ts";
import type { DriverFactory } from "./driver.ts";

/**
 * Returns the driver factory of a protocol. Drivers are imported on demand, so a Modbus app
 * never loads node-opcua (its memory and start-up time).
 * @throws NodiError kind `configuration` for a protocol without a driver.
 */
export async function loadDriverFactory(protocol: Protocol): Promise<DriverFactory> {
  switch (protocol) {
    case "modbus-tcp":
    case "modbus-rtu":
    case "modbus-rtu-tcp":
      return (await import("./modbus/index.ts")).createModbusDriver;
    case "opcua":
      return (await import("./opcua/index.ts")).createOpcuaDriver;
    default:
      throw new NodiError("configuration", `no driver for protocol ${JSON.stringify(protocol)}`);
  }
}
