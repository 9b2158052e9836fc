import { NodiError } from "../../core/errors.ts";
import type { DriverFactory } from "../driver.ts";

/** Placeholder until the opcua driver lands: refuses to run. */
export const createOpcuaDriver: DriverFactory = () => {
  throw new NodiError("configuration", "the opcua driver is not built yet");
};
