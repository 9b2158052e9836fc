"""A small Modbus server on Debian's python3-pymodbus (3.0), for end-to-end tests of the
Modbus driver against an implementation that is not ours.

Usage: /usr/bin/python3 pymodbus_server.py PORT [socket|rtu]
  socket = Modbus TCP (MBAP), rtu = RTU framing over TCP.
Data (zero-based addresses, 200 of each table; reading past 199 is ILLEGAL_DATA_ADDRESS):
  holding 0..199 = 3 * address, except 10..11 = float32 12.5 word-swapped (0x0000, 0x4148)
  and 20..23 = "PYMB" (0x5059, 0x4d42, 0, 0);
  input 0 = 364; coils 3 = on; discrete inputs 5 = on.
"""
import logging
import sys

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.framer.rtu_framer import ModbusRtuFramer
from pymodbus.framer.socket_framer import ModbusSocketFramer
from pymodbus.server import StartTcpServer

logging.basicConfig(level=logging.ERROR)

port = int(sys.argv[1])
framer = ModbusRtuFramer if len(sys.argv) > 2 and sys.argv[2] == "rtu" else ModbusSocketFramer

hr = [3 * i for i in range(200)]
hr[10:12] = [0x0000, 0x4148]
hr[20:24] = [0x5059, 0x4D42, 0, 0]
ir = [0] * 200
ir[0] = 364
co = [False] * 200
co[3] = True
di = [False] * 200
di[5] = True

store = ModbusSlaveContext(
    di=ModbusSequentialDataBlock(0, di),
    co=ModbusSequentialDataBlock(0, co),
    hr=ModbusSequentialDataBlock(0, hr),
    ir=ModbusSequentialDataBlock(0, ir),
    zero_mode=True,
)
context = ModbusServerContext(slaves=store, single=True)
StartTcpServer(context=context, address=("127.0.0.1", port), framer=framer)
