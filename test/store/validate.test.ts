import { describe, expect, test } from "bun:test";
import { type ConfigIssue, idTwins, validateConfig } from "../../src/store/validate.ts";
import { modbusConfig } from "./helpers.ts";

type Rows = {
  connections: Record<string, unknown>[];
  blocks: Record<string, unknown>[];
  tags: Record<string, unknown>[];
};

function base(): Rows {
  const c = modbusConfig("plc1");
  return {
    connections: [{ ...c.connection }],
    blocks: c.blocks.map((b) => ({ ...b })),
    tags: c.tags.map((t) => ({ ...t })),
  } as unknown as Rows;
}

function issuesOf(rows: Rows): ConfigIssue[] {
  const r = validateConfig(rows);
  return r.ok ? [] : r.issues;
}

/** Applies `edit` to a valid config and expects exactly one issue on `field` whose message matches `re`. */
function refuses(edit: (r: Rows) => void, field: string, re: RegExp) {
  const rows = base();
  edit(rows);
  const issues = issuesOf(rows);
  expect(issues.map((i) => `${i.field}: ${i.message}`)).toHaveLength(1);
  expect(issues[0]?.field).toBe(field);
  expect(issues[0]?.message).toMatch(re);
}

const opcua = (r: Rows) => {
  r.connections[0] = { conn_id: "plc1", protocol: "opcua", endpoint_url: "opc.tcp://h:4840" };
  r.blocks[0] = { conn_id: "plc1", block_id: "hr", table: "opcua_nodes", period_ms: 500 };
  r.tags = [
    { conn_id: "plc1", tag_name: "x", block_id: "hr", data_type: "float64", node_id: "ns=1;s=X" },
  ];
};

describe("validateConfig", () => {
  test("a valid config passes, normalized", () => {
    const r = validateConfig(base());
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.value.connections[0]?.serial_device).toBeNull();
      expect(r.value.tags[0]?.byte_order).toBe("ABCD");
    }
  });

  const cases: [string, (r: Rows) => void, string, RegExp][] = [
    [
      "unknown protocol",
      (r) => {
        r.connections[0]!.protocol = "profibus";
      },
      "protocol",
      /protocol must be one of modbus-tcp.*got "profibus"/,
    ],
    [
      "bad conn_id",
      (r) => {
        r.connections[0]!.conn_id = "Bad Id";
        r.blocks = [];
        r.tags = [];
      },
      "conn_id",
      /must match/,
    ],
    [
      "reserved conn_id",
      (r) => {
        r.connections[0]!.conn_id = "system";
        r.blocks = [];
        r.tags = [];
      },
      "conn_id",
      /reserved/,
    ],
    [
      "modbus-tcp without host",
      (r) => {
        r.connections[0]!.host = null;
      },
      "host",
      /host is required for protocol modbus-tcp/,
    ],
    [
      "modbus-tcp without port",
      (r) => {
        delete r.connections[0]!.port;
      },
      "port",
      /port is required for protocol modbus-tcp/,
    ],
    [
      "modbus-rtu without serial_device",
      (r) => {
        Object.assign(r.connections[0]!, {
          protocol: "modbus-rtu",
          host: null,
          port: null,
          baud_rate: 9600,
        });
      },
      "serial_device",
      /serial_device is required for protocol modbus-rtu/,
    ],
    [
      "field of another protocol",
      (r) => {
        r.connections[0]!.endpoint_url = "opc.tcp://x:4840";
      },
      "endpoint_url",
      /only used by opcua/,
    ],
    [
      "opcua without endpoint_url",
      (r) => {
        opcua(r);
        r.connections[0]!.endpoint_url = null;
      },
      "endpoint_url",
      /endpoint_url is required for protocol opcua/,
    ],
    [
      "opcua tag without node_id",
      (r) => {
        opcua(r);
        r.tags[0]!.node_id = null;
      },
      "node_id",
      /node_id is required/,
    ],
    [
      "modbus table on opcua",
      (r) => {
        opcua(r);
        r.blocks[0]!.table = "coils";
        r.tags = [];
      },
      "table",
      /opcua_nodes/,
    ],
    [
      "duplicate conn_id",
      (r) => {
        r.connections.push({ ...r.connections[0]! });
      },
      "conn_id",
      /duplicate conn_id "plc1"/,
    ],
    [
      "block past address 65535",
      (r) => {
        r.blocks[0]!.address = 65530;
        r.tags = [];
      },
      "count",
      /end by address 65535/,
    ],
    [
      "block count 0",
      (r) => {
        r.blocks[0]!.count = 0;
        r.tags = [];
      },
      "count",
      /at least 1/,
    ],
    [
      "block of an unknown connection",
      (r) => {
        r.blocks.push({ conn_id: "ghost", block_id: "x", table: "coils", count: 1 });
      },
      "conn_id",
      /no connection "ghost"/,
    ],
    [
      "duplicate block_id",
      (r) => {
        r.blocks.push({ ...r.blocks[0]! });
      },
      "block_id",
      /duplicate block_id "hr"/,
    ],
    [
      "mode on a modbus block",
      (r) => {
        r.blocks[0]!.mode = "poll";
      },
      "mode",
      /opcua blocks only/,
    ],
    [
      "tag outside its block",
      (r) => {
        r.tags[0]!.address = 10;
      },
      "address",
      /inside its block "hr" \(holding_registers 0–9\): it takes register 10/,
    ],
    [
      "float32 on a single-register span",
      (r) => {
        r.blocks[0]!.count = 3;
      },
      "address",
      /float32 takes 2 registers/,
    ],
    [
      "lbcd on the last register of its block (it takes 2)",
      (r) => {
        Object.assign(r.tags[0]!, { data_type: "lbcd", address: 9 });
      },
      "address",
      /it takes registers 9–10 \(lbcd takes 2 registers\)/,
    ],
    [
      "bcd on an opcua tag (packed BCD is Modbus-only)",
      (r) => {
        opcua(r);
        r.tags[0]!.data_type = "bcd";
      },
      "data_type",
      /data_type bcd \(packed BCD in Modbus registers\) is not for opcua tags/,
    ],
    [
      "lbcd on an opcua tag",
      (r) => {
        opcua(r);
        r.tags[0]!.data_type = "lbcd";
      },
      "data_type",
      /data_type lbcd .* is not for opcua tags/,
    ],
    [
      "tag of an unknown block",
      (r) => {
        r.tags[0]!.block_id = "nope";
      },
      "block_id",
      /no block "nope" in connection "plc1"/,
    ],
    [
      "duplicate tag path",
      (r) => {
        r.tags.push({ ...r.tags[0]!, address: 1 });
      },
      "tag_name",
      /duplicate tag path \/plc1\/speed/,
    ],
    [
      "bit without bit type",
      (r) => {
        r.tags[0]!.bit = 3;
      },
      "bit",
      /bit is only for data_type bit/,
    ],
    [
      "bit type without bit",
      (r) => {
        r.tags[0]!.data_type = "bit";
      },
      "bit",
      /bit \(0–15.*required/,
    ],
    [
      "bit number 16",
      (r) => {
        r.tags[0]!.data_type = "bit";
        r.tags[0]!.bit = 16;
      },
      "bit",
      /16/,
    ],
    [
      "string without length",
      (r) => {
        r.tags[0]!.data_type = "string";
      },
      "length",
      /length.*required for data_type string/,
    ],
    [
      "non-bool on coils",
      (r) => {
        r.blocks[0]!.table = "coils";
        r.tags = [
          { conn_id: "plc1", tag_name: "c", block_id: "hr", address: 0, data_type: "uint16" },
        ];
      },
      "data_type",
      /coils, which hold only bool, got uint16/,
    ],
    [
      "non-bool on discrete inputs",
      (r) => {
        r.blocks[0]!.table = "discrete_inputs";
        r.tags = [{ conn_id: "plc1", tag_name: "c", block_id: "hr", data_type: "bit", bit: 1 }];
      },
      "data_type",
      /discrete_inputs, which hold only bool/,
    ],
    [
      "bool on registers",
      (r) => {
        r.tags[0]!.data_type = "bool";
      },
      "data_type",
      /use data_type bit/,
    ],
    [
      "read-write on input registers",
      (r) => {
        r.blocks[0]!.table = "input_registers";
        r.tags[0]!.access = "read-write";
      },
      "access",
      /read-only.*got read-write/,
    ],
    [
      "scale on a bit",
      (r) => {
        Object.assign(r.tags[0]!, { data_type: "bit", bit: 0, scale: 2 });
      },
      "scale",
      /numeric data types only/,
    ],
    [
      "scale 0",
      (r) => {
        r.tags[0]!.scale = 0;
      },
      "scale",
      /scale must not be 0/,
    ],
    [
      "node_id on a modbus tag",
      (r) => {
        r.tags[0]!.node_id = "ns=1;s=X";
      },
      "node_id",
      /opcua tags only/,
    ],
    [
      "unknown byte order",
      (r) => {
        r.tags[1]!.byte_order = "ACBD";
      },
      "byte_order",
      /ABCD, BADC, CDAB or DCBA/,
    ],
    [
      "backoff_initial_ms above backoff_max_ms",
      (r) => {
        Object.assign(r.connections[0]!, { backoff_initial_ms: 5000, backoff_max_ms: 1000 });
      },
      "backoff_initial_ms",
      /must not exceed backoff_max_ms/,
    ],
  ];
  for (const [name, edit, field, re] of cases) {
    test(`refuses: ${name}`, () => refuses(edit, field, re));
  }

  test("bcd and lbcd: spans of 1 and 2 registers, scale and offset allowed", () => {
    const rows = base();
    rows.tags = [
      { conn_id: "plc1", tag_name: "b", block_id: "hr", address: 9, data_type: "bcd", scale: 0.1 },
      { conn_id: "plc1", tag_name: "l", block_id: "hr", address: 7, data_type: "lbcd", offset: 5 },
      {
        conn_id: "plc1",
        tag_name: "w",
        block_id: "hr",
        address: 0,
        data_type: "lbcd",
        byte_order: "CDAB",
      },
    ];
    expect(issuesOf(rows)).toEqual([]);
  });

  // A block may be longer than one read request (it was refused before): the driver's plan
  // splits it at 125 registers / 2000 bits or the device's max_*_per_request.
  test("accepts blocks longer than one request, up to the end of the address space", () => {
    const rows = base();
    rows.connections[0]!.max_registers_per_request = 8;
    rows.connections[0]!.max_bits_per_request = 16;
    rows.blocks[0]!.count = 300;
    rows.blocks.push(
      { conn_id: "plc1", block_id: "c", table: "coils", address: 0, count: 2500, period_ms: 100 },
      // ends exactly at address 65535 (65536 − 536 = 65000)
      { conn_id: "plc1", block_id: "end", table: "input_registers", address: 65000, count: 536 },
    );
    expect(issuesOf(rows)).toEqual([]);
    const r = validateConfig(rows);
    expect(r.ok && r.value.blocks.map((b) => b.count)).toEqual([300, 2500, 536]);
  });

  test("still refuses what cannot work: past address 65535, a per-request max above the protocol's (count 0: above)", () => {
    refuses(
      (r) => {
        r.blocks[0]!.count = 65537;
      },
      "count",
      /at most 65536/,
    );
    refuses(
      (r) => {
        Object.assign(r.blocks[0]!, { address: 65000, count: 537 });
        r.tags = [];
      },
      "count",
      /end by address 65535: address 65000 \+ count 537/,
    );
    refuses(
      (r) => {
        r.connections[0]!.max_registers_per_request = 126;
      },
      "max_registers_per_request",
      /at most 125/,
    );
    refuses(
      (r) => {
        r.connections[0]!.max_bits_per_request = 2001;
      },
      "max_bits_per_request",
      /at most 2000/,
    );
  });

  test("Modbus link fields default: unit_id 1; modbus-rtu 9600 baud, parity none, 8 data bits, 1 stop bit", () => {
    const rows = base();
    delete rows.connections[0]!.unit_id;
    rows.connections.push(
      { conn_id: "rtu1", protocol: "modbus-rtu", serial_device: "/dev/ttyS1" },
      {
        conn_id: "rtu2",
        protocol: "modbus-rtu",
        serial_device: "/dev/ttyS2",
        unit_id: 7,
        baud_rate: 19200,
        parity: "even",
        data_bits: 7,
        stop_bits: 2,
      },
      { conn_id: "gw1", protocol: "modbus-rtu-tcp", host: "gw", port: 4001 },
      { conn_id: "ua1", protocol: "opcua", endpoint_url: "opc.tcp://h:4840" },
    );
    const r = validateConfig(rows);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const link = (id: string) => {
      const c = r.value.connections.find((x) => x.conn_id === id)!;
      return [c.unit_id, c.baud_rate, c.parity, c.data_bits, c.stop_bits];
    };
    expect(link("plc1")).toEqual([1, null, null, null, null]);
    expect(link("rtu1")).toEqual([1, 9600, "none", 8, 1]);
    expect(link("rtu2")).toEqual([7, 19200, "even", 7, 2]); // given values are kept
    expect(link("gw1")).toEqual([1, null, null, null, null]);
    expect(link("ua1")).toEqual([null, null, null, null, null]); // no Modbus fields on opcua
  });

  test("reports every issue, not only the first", () => {
    const rows = base();
    rows.blocks[0]!.mode = "poll";
    rows.tags[0]!.bit = 1;
    rows.tags.push({ conn_id: "plc1", tag_name: "x", block_id: "zz", data_type: "int16" });
    const issues = issuesOf(rows);
    expect(issues.map((i) => `${i.entity}#${i.index}.${i.field}`)).toEqual([
      "block#0.mode",
      "tag#0.bit",
      "tag#2.block_id",
    ]);
  });

  test("a row that fails its own schema does not also cause unknown-reference issues", () => {
    const rows = base();
    rows.connections[0]!.port = "abc";
    const issues = issuesOf(rows);
    expect(issues.map((i) => i.field)).toEqual(["port"]);
  });
});

describe("address_base (zero- or one-based addresses of a Modbus connection)", () => {
  const oneBased = (r: Rows) => {
    r.connections[0]!.address_base = 1;
    r.blocks[0]!.address = 1;
    r.tags[0]!.address = 1;
    r.tags[1]!.address = 3;
  };

  test("defaults to 0 on Modbus connections, stays empty on OPC UA", () => {
    const ok = validateConfig(base());
    expect(ok.ok && ok.value.connections[0]?.address_base).toBe(0);
    const rows = base();
    opcua(rows);
    const o = validateConfig(rows);
    expect(o.ok && o.value.connections[0]?.address_base).toBeNull();
  });

  test("one-based: address 1 is valid, and so is the last register 65536", () => {
    const rows = base();
    oneBased(rows);
    expect(issuesOf(rows)).toEqual([]);
    rows.blocks[0]!.address = 65527;
    rows.blocks[0]!.count = 10; // registers 65526–65535 on the wire
    rows.tags[0]!.address = 65536;
    rows.tags[1]!.address = 65534;
    expect(issuesOf(rows)).toEqual([]);
  });

  test("one-based: a block at address 0 is refused, located at its address", () => {
    refuses(
      (r) => {
        oneBased(r);
        r.blocks[0]!.address = 0;
        r.tags = [];
      },
      "address",
      /^address must be at least 1: connection "plc1" counts addresses from 1 \(address_base 1: address 1 is register 0 on the wire\), got 0$/,
    );
  });

  test("one-based: a tag at address 0 is refused with the same rule, not as outside its block", () => {
    const rows = base();
    oneBased(rows);
    rows.blocks[0]!.address = 1;
    rows.tags[0]!.address = 0;
    const issues = issuesOf(rows);
    expect(issues.map((i) => [i.entity, i.key, i.field])).toEqual([
      ["tag", "plc1/speed", "address"],
    ]);
    expect(issues[0]?.message).toMatch(/^address must be at least 1: connection "plc1"/);
  });

  test("zero-based: 65536 is refused (65535 is the last register); one-based: a block past 65536", () => {
    refuses(
      (r) => {
        r.blocks[0]!.address = 65536;
        r.tags = [];
      },
      "address",
      /address must be at most 65535 \(zero-based: 65535 is the last register\), got 65536/,
    );
    refuses(
      (r) => {
        oneBased(r);
        r.blocks[0]!.address = 65530;
        r.tags = [];
      },
      "count",
      /block must end by address 65536: address 65530 \+ count 10 goes past it/,
    );
  });

  test("only 0 or 1, and only on Modbus connections", () => {
    refuses(
      (r) => {
        r.connections[0]!.address_base = 2;
      },
      "address_base",
      /address_base must be 0 \(zero-based\) or 1 \(one-based\)/,
    );
    refuses(
      (r) => {
        opcua(r);
        r.connections[0]!.address_base = 1;
      },
      "address_base",
      /only used by modbus-tcp, modbus-rtu-tcp, modbus-rtu, not opcua/,
    );
  });
});

describe("duplicate ids: one check over every row whose id is valid", () => {
  test("idTwins: each row after the first with its id is a duplicate; the first valid row holds it", () => {
    // keys of rows 0..5; parsed: undefined = the row failed its schema
    const keys = ["a", "a", "a", undefined, "b", "b"];
    const parsed = [undefined, {}, {}, {}, {}, undefined];
    expect(idTwins(keys, parsed)).toEqual([
      { duplicate: false, holds: false }, // failed its schema: never the row of its id
      { duplicate: true, holds: true }, // told as a duplicate, and checked as the row of "a"
      { duplicate: true, holds: false }, // a second valid "a": told, checked no further
      { duplicate: false, holds: true }, // no key (its id is bad): its own issues say so
      { duplicate: false, holds: true },
      { duplicate: true, holds: false },
    ]);
  });

  test("a bad row, then two valid rows of one tag path: three issues, the third row not checked further", () => {
    const rows = base();
    const temp = { conn_id: "plc1", tag_name: "temp", block_id: "hr", data_type: "float32" };
    rows.tags = [
      rows.tags[0]!,
      { ...temp, address: 2, data_type: "float33" },
      { ...temp, address: 4 },
      { ...temp, address: 99 }, // outside its block: not told, as a duplicate it is not checked
    ];
    expect(issuesOf(rows).map((i) => `${i.index} ${i.field}: ${i.message.split(",")[0]}`)).toEqual([
      "1 data_type: data_type must be one of bool",
      "2 tag_name: duplicate tag path /plc1/temp: each tag name once per connection",
      "3 tag_name: duplicate tag path /plc1/temp: each tag name once per connection",
    ]);
  });
});
