"""A Modbus TCP server on Debian's python3-pymodbus (3.0) whose holding registers have a hole,
for the automatic-blocks test (docs/modbus.md "Automatic blocks").

Usage: /usr/bin/python3 pymodbus_sparse_server.py PORT
Holding registers (zero-based): 0..9 and 20..29 exist, each holding 100 + its address; any
read touching 10..19 (or past 29) is answered with exception 02 ILLEGAL_DATA_ADDRESS, as
pymodbus's sparse data block does for an address it does not hold.
"""
import logging
import sys

from pymodbus.datastore import (
    ModbusSequentialDataBlock,
    ModbusServerContext,
    ModbusSlaveContext,
    ModbusSparseDataBlock,
)
from pymodbus.framer.socket_framer import ModbusSocketFramer
from pymodbus.server import StartTcpServer

logging.basicConfig(level=logging.CRITICAL)
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # every exception reply is logged as ERROR

port = int(sys.argv[1])
hr = {a: 100 + a for a in [*range(0, 10), *range(20, 30)]}
store = ModbusSlaveContext(
    di=ModbusSequentialDataBlock(0, [False] * 10),
    co=ModbusSequentialDataBlock(0, [False] * 10),
    hr=ModbusSparseDataBlock(hr),
    ir=ModbusSequentialDataBlock(0, [0] * 10),
    zero_mode=True,
)
context = ModbusServerContext(slaves=store, single=True)
StartTcpServer(context=context, address=("127.0.0.1", port), framer=ModbusSocketFramer)
