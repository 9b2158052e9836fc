import { NodiError } from "../../core/errors.ts";
import type { DriverFactory } from "../driver.ts";

/** Placeholder until the modbus driver lands: refuses to run. */
export const createModbusDriver: DriverFactory = () => {
  throw new NodiError("configuration", "the modbus driver is not built yet");
};
