import type { MqttClient } from 'mqtt';

/**
 * Turns Nagle's algorithm off on an MQTT client's TCP socket. Acks and small batches are tiny
 * writes answered by tiny writes: with Nagle on, each waited for the peer's delayed ACK, about
 * 40 ms per round trip on Linux loopback (docs/benchmarks.md, "Console", finding 3). WebSocket
 * streams have no such method and are left as they are.
 */
export function disableNagle(client: MqttClient): void {
  const stream = client.stream as { setNoDelay?: (noDelay: boolean) => unknown } | undefined;
  stream?.setNoDelay?.(true);
}
