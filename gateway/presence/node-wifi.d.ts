/**
 * Local typings for node-wifi@2.0.16 (it ships none), limited to what wifi-scanner.ts uses.
 *
 * Only the default export (node-wifi's `module.exports`) is declared, on purpose: `init()`
 * replaces `exports.scan` on that object, so the named ESM export `scan` that Node's CommonJS
 * interop snapshots at import time stays the "use init before" stub forever. Always call
 * `wifi.default.init(...)` then `wifi.default.scan()`.
 */
declare module 'node-wifi' {
  /**
   * One network as node-wifi's Linux parser builds it from `nmcli --terse` output. Its fields are
   * not trustworthy as typed: a line whose SSID contains `:` is mis-split, so `mode`, `channel`,
   * `frequency` and `quality` can be other fields' text, NaN or out of range. wifi-scanner.ts
   * validates every record before using it.
   */
  export interface NodeWifiNetwork {
    ssid: string;
    bssid: string;
    /** The same as bssid (node-wifi 1.x name). */
    mac: string;
    mode: string;
    channel: number;
    frequency: number;
    /** NOT a measured dBm: node-wifi computes `quality / 2 - 100` from nmcli's 0-100 signal. */
    signal_level: number;
    /** nmcli's SIGNAL column, 0-100. */
    quality: number;
    security: string;
    security_flags: { wpa: string; rsn: string } | string[];
  }

  export interface NodeWifiInitOptions {
    /** Passed to nmcli as `ifname IFACE`. A falsy value leaves the previous one in place (the config is module-global). */
    iface?: string | null;
    debug?: boolean;
  }

  export interface NodeWifi {
    /** Mandatory before scan(): binds scan() to the platform's implementation and the iface. */
    init(options?: NodeWifiInitOptions): void;
    /** Spawns nmcli synchronously (execFile with env = process.env) and resolves with its parsed lines. No timeout. */
    scan(): Promise<NodeWifiNetwork[]>;
  }

  const nodeWifi: NodeWifi;
  export default nodeWifi;
}
