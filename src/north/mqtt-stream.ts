import net from "node:net";
import tls from "node:tls";
import type { MqttClient } from "mqtt";

/**
 * The byte stream under an MQTT session: TCP for `mqtt://`, TLS for `mqtts://`.
 *
 * Why not `mqtt.connect()`: its connect helper also brings WebSocket, SOCKS-proxy and
 * mini-program transports (socks, ip-address, smart-buffer, ws; −119 kB of minified JS,
 * ≈ −0.4 MB of executable with bytecode) that a gateway never uses, and the executable has a
 * size budget (docs/packaging.md). The MQTT protocol itself stays MQTT.js's `MqttClient`,
 * given this stream builder; what it does here is what MQTT.js's own `connect/tcp` and
 * `connect/tls` builders do for these two protocols (default ports 1883/8883, SNI for a host
 * name, `rejectUnauthorized` on, TLS errors reported on the client).
 */
export interface StreamTarget {
  secure: boolean;
  /** Host name or IP address (IPv6 without brackets). */
  host: string;
  port: number;
  /** PEM bytes for TLS: CA, client certificate and key. */
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/**
 * A stream builder for `new MqttClient(builder, options)`: opens a new socket each time
 * MQTT.js asks (it asks once per connect; the session disables its reconnect).
 */
export function streamBuilder(t: StreamTarget): (client: MqttClient) => net.Socket {
  return (client) => {
    if (!t.secure) return net.createConnection({ host: t.host, port: t.port });
    const socket = tls.connect({
      host: t.host,
      port: t.port,
      ...(net.isIP(t.host) === 0 ? { servername: t.host } : {}),
      rejectUnauthorized: true,
      ...(t.ca ? { ca: t.ca } : {}),
      ...(t.cert ? { cert: t.cert } : {}),
      ...(t.key ? { key: t.key } : {}),
    });
    // As MQTT.js's tls builder: a TLS failure (untrusted certificate, handshake) is an error
    // of the client, and the socket is closed.
    const onTlsError = (err: Error) => {
      client.emit("error", err);
      socket.end();
    };
    socket.on("error", onTlsError);
    socket.once("secureConnect", () => {
      if (!socket.authorized) socket.emit("error", new Error("TLS not authorized"));
      else socket.removeListener("error", onTlsError);
    });
    return socket;
  };
}
