import type { Namespace, UAObject, UAVariable } from "node-opcua-address-space";
import { DataType, Variant, VariantArrayType } from "node-opcua-variant";

/**
 * The address space of the simulated "press" machine (a stamping press), under
 * `ns=1;s=Press.*` (namespace 1 is the server's own namespace, OPC UA Part 3 §8.2.2):
 *
 * - `Press.State` (String), `Press.Running` (Boolean), `Press.Speed` (Double, strokes/min,
 *   changing), `Press.StrokeCount` (UInt32, changing), `Press.Force` (Float, kN, changing),
 *   `Press.OilTemperature` (Double, °C, changing), `Press.Mode` (Int16, writable),
 *   `Press.SpeedSetpoint` (Double, writable);
 * - `Press.Params.{Boolean,SByte,Byte,Int16,UInt16,Int32,UInt32,Int64,UInt64,Float,Double,String}`:
 *   one writable variable of each basic type;
 * - `Press.Axis{1..8}.{Position,Velocity,Torque,Enabled}`;
 * - `Press.Sensors.T001..T200` (Double; every 10th one changes), `Press.Counters.C001..C050`
 *   (UInt32, writable);
 * - `Press.Bench.V0000..` (Double, changing every `benchPeriodMs`), only when `benchItems` > 0.
 *
 * Changing values are updated by {@link PressModel.tick}, called by the simulator's timer.
 */
export interface PressModel {
  /** Number of variables created. */
  variableCount: number;
  /** Advances the changing variables by one step (the simulator calls it every `tickMs`). */
  tick(): void;
  /** Advances the bench variables (each gets a new value). */
  tickBench(): void;
}

const PARAM_TYPES: Array<[string, DataType, unknown]> = [
  ["Boolean", DataType.Boolean, false],
  ["SByte", DataType.SByte, 0],
  ["Byte", DataType.Byte, 0],
  ["Int16", DataType.Int16, 0],
  ["UInt16", DataType.UInt16, 0],
  ["Int32", DataType.Int32, 0],
  ["UInt32", DataType.UInt32, 0],
  ["Int64", DataType.Int64, [0, 0]],
  ["UInt64", DataType.UInt64, [0, 0]],
  ["Float", DataType.Float, 0],
  ["Double", DataType.Double, 0],
  ["String", DataType.String, ""],
];

/** Builds the press address space in `ns` under the Objects folder. */
export function buildPressModel(
  ns: Namespace,
  objectsFolder: UAObject,
  opts: { benchItems?: number } = {},
): PressModel {
  let count = 0;
  const variable = (
    parent: UAObject,
    id: string,
    dataType: DataType,
    value: unknown,
    writable = false,
  ): UAVariable => {
    count++;
    const browseName = id.slice(id.lastIndexOf(".") + 1);
    const v = ns.addVariable({
      componentOf: parent,
      nodeId: `s=${id}`,
      browseName,
      dataType,
      accessLevel: writable ? "CurrentRead | CurrentWrite" : "CurrentRead",
      userAccessLevel: writable ? "CurrentRead | CurrentWrite" : "CurrentRead",
      minimumSamplingInterval: 0,
    });
    v.setValueFromSource(new Variant({ dataType, arrayType: VariantArrayType.Scalar, value }));
    return v;
  };
  const folder = (parent: UAObject, id: string): UAObject =>
    ns.addObject({
      organizedBy: parent,
      nodeId: `s=${id}`,
      browseName: id.slice(id.lastIndexOf(".") + 1),
    });

  const press = folder(objectsFolder, "Press");
  const state = variable(press, "Press.State", DataType.String, "Running");
  const running = variable(press, "Press.Running", DataType.Boolean, true);
  const speed = variable(press, "Press.Speed", DataType.Double, 30);
  const strokes = variable(press, "Press.StrokeCount", DataType.UInt32, 0);
  const force = variable(press, "Press.Force", DataType.Float, 0);
  const oil = variable(press, "Press.OilTemperature", DataType.Double, 40);
  variable(press, "Press.Mode", DataType.Int16, 1, true);
  const setpoint = variable(press, "Press.SpeedSetpoint", DataType.Double, 30, true);

  const params = folder(press, "Press.Params");
  for (const [name, dt, init] of PARAM_TYPES)
    variable(params, `Press.Params.${name}`, dt, init, true);

  const axes: UAVariable[] = [];
  for (let a = 1; a <= 8; a++) {
    const axis = folder(press, `Press.Axis${a}`);
    axes.push(variable(axis, `Press.Axis${a}.Position`, DataType.Double, 0));
    variable(axis, `Press.Axis${a}.Velocity`, DataType.Double, 0);
    variable(axis, `Press.Axis${a}.Torque`, DataType.Float, 0);
    variable(axis, `Press.Axis${a}.Enabled`, DataType.Boolean, true);
  }
  const sensors = folder(press, "Press.Sensors");
  const changingSensors: UAVariable[] = [];
  for (let i = 1; i <= 200; i++) {
    const v = variable(
      sensors,
      `Press.Sensors.T${String(i).padStart(3, "0")}`,
      DataType.Double,
      20 + i / 10,
    );
    if (i % 10 === 0) changingSensors.push(v);
  }
  const counters = folder(press, "Press.Counters");
  for (let i = 1; i <= 50; i++) {
    variable(counters, `Press.Counters.C${String(i).padStart(3, "0")}`, DataType.UInt32, i, true);
  }
  const bench: UAVariable[] = [];
  if (opts.benchItems && opts.benchItems > 0) {
    const b = folder(press, "Press.Bench");
    for (let i = 0; i < opts.benchItems; i++) {
      bench.push(variable(b, `Press.Bench.V${String(i).padStart(4, "0")}`, DataType.Double, 0));
    }
  }

  let step = 0;
  let benchStep = 0;
  const set = (v: UAVariable, dataType: DataType, value: unknown) =>
    v.setValueFromSource(new Variant({ dataType, value }));
  return {
    variableCount: count,
    tick() {
      step++;
      const target = Number(setpoint.readValue().value.value) || 0;
      const on = running.readValue().value.value === true;
      set(speed, DataType.Double, on ? target + Math.sin(step / 5) : 0);
      if (on) set(strokes, DataType.UInt32, step);
      set(force, DataType.Float, on ? 800 + 50 * Math.sin(step / 3) : 0);
      set(oil, DataType.Double, 40 + 5 * Math.sin(step / 50));
      set(state, DataType.String, on ? "Running" : "Stopped");
      for (const [i, v] of axes.entries()) set(v, DataType.Double, Math.sin((step + i) / 7) * 100);
      for (const [i, v] of changingSensors.entries()) {
        set(v, DataType.Double, 20 + i + Math.sin(step / 11));
      }
    },
    tickBench() {
      benchStep++;
      for (const v of bench) set(v, DataType.Double, benchStep);
    },
  };
}
