import type { DriverFactory } from "../driver.ts";
import { ModbusDriver } from "./driver.ts";

export { ModbusDriver } from "./driver.ts";

/**
 * Creates the Modbus driver of a `modbus-tcp`, `modbus-rtu` or `modbus-rtu-tcp` connection.
 * No I/O until `connect()`. See docs/modbus.md.
 * @throws NodiError `configuration` when the connection lacks host/port or serial_device.
 */
export const createModbusDriver: DriverFactory = (connection, deps) =>
  new ModbusDriver(connection, deps);
