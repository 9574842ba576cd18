import { EventEmitter } from 'node:events';
import Module, { createRequire } from 'node:module';

/**
 * A fake `@abandonware/bluetooth-hci-socket`: the lowest layer under bleno (and noble), the one
 * that cannot exist on a machine without a Bluetooth radio. Everything above it (bleno's Hci, Gap,
 * bindings and the Bleno object) is the real library code.
 *
 * The fake emulates a minimal LE controller behind a raw HCI socket: it parses each HCI command
 * packet bleno writes, records it, updates a small controller state (advertising parameters,
 * advertising data, scan response data, advertise enable) and answers with a Command Complete
 * event, asynchronously and in order, as the kernel delivers them. A test can make the next
 * command(s) of an opcode fail with an HCI status, hold the answers back, or take the device down
 * and up again (an adapter reset: the controller forgets its advertising state, as after the
 * kernel's HCI Reset on `hciconfig hci0 up`).
 *
 * Install it with `installFakeHciSocket()` before anything requires bleno; tests run in forked
 * workers, so the CJS require cache, and the fake in it, belong to one test file.
 */

export const HCI_COMMAND_PKT = 0x01;
export const HCI_EVENT_PKT = 0x04;
export const EVT_CMD_COMPLETE = 0x0e;

/** Opcode = OCF | OGF << 10. */
export const opcodeOf = (ogf: number, ocf: number): number => (ocf & 0x03ff) | (ogf << 10);

export const OP = {
  SET_EVENT_MASK: opcodeOf(0x03, 0x0001),
  RESET: opcodeOf(0x03, 0x0003),
  READ_LE_HOST_SUPPORTED: opcodeOf(0x03, 0x006c),
  WRITE_LE_HOST_SUPPORTED: opcodeOf(0x03, 0x006d),
  READ_LOCAL_VERSION: opcodeOf(0x04, 0x0001),
  READ_BUFFER_SIZE: opcodeOf(0x04, 0x0005),
  READ_BD_ADDR: opcodeOf(0x04, 0x0009),
  LE_SET_EVENT_MASK: opcodeOf(0x08, 0x0001),
  LE_READ_BUFFER_SIZE: opcodeOf(0x08, 0x0002),
  LE_SET_ADVERTISING_PARAMETERS: opcodeOf(0x08, 0x0006),
  LE_SET_ADVERTISING_DATA: opcodeOf(0x08, 0x0008),
  LE_SET_SCAN_RESPONSE_DATA: opcodeOf(0x08, 0x0009),
  LE_SET_ADVERTISE_ENABLE: opcodeOf(0x08, 0x000a),
} as const;

const NAMES = new Map<number, string>(Object.entries(OP).map(([name, op]) => [op, name]));

/** HCI status codes the tests use (Core spec Vol 1 Part F). */
export const HCI_STATUS = {
  SUCCESS: 0x00,
  UNKNOWN_COMMAND: 0x01,
  HARDWARE_FAILURE: 0x03,
  COMMAND_DISALLOWED: 0x0c,
  INVALID_PARAMETERS: 0x12,
} as const;

export interface HciCommandRecord {
  /** Order of arrival over all commands, from 0. */
  seq: number;
  opcode: number;
  ogf: number;
  ocf: number;
  /** The OP key, e.g. `LE_SET_ADVERTISING_DATA`, or `0xNNNN` for a command the fake does not know. */
  name: string;
  /** The command parameters (after the 4-byte header). */
  params: Buffer;
  /** The whole packet as written. */
  packet: Buffer;
  /** The status the fake answered with; undefined when the device was down and the write failed. */
  status: number | undefined;
}

export interface AdvertisingState {
  enabled: boolean;
  /** What the controller would put on air: the significant part of the last Set Advertising Data. */
  data: Buffer;
  scanResponse: Buffer;
  parameters: Buffer | null;
}

export interface FakeHciControllerOptions {
  /** Public address reported by Read BD ADDR. */
  address?: string;
  /** HCI version of Read Local Version: 0x09 is Bluetooth 5.0 (a Pi 4), 0x07 is 4.1 (a Pi 3). */
  hciVersion?: number;
  /**
   * Bluetooth <= 4.2 controllers answer LE Set Advertise Enable(1) while advertising is already
   * enabled with Command Disallowed; 5.0 relaxed it. Default: as the HCI version says.
   */
  strictAdvertiseEnable?: boolean;
}

type Answer = { socket: FakeHciSocketBase; packet: Buffer };

/** The emulated controller, shared by every fake socket a test's bleno opens. */
export class FakeHciController {
  readonly commands: HciCommandRecord[] = [];
  /** Packets written on the management (control) channel: bleno's Mgmt writes LTKs there. */
  readonly mgmtWrites: Buffer[] = [];
  /** Every filter set on a raw socket. */
  readonly filters: Buffer[] = [];
  readonly sockets: FakeHciSocketBase[] = [];
  readonly address: string;
  readonly hciVersion: number;
  /** Mutable: a test may turn one controller into the other. */
  strictAdvertiseEnable: boolean;
  advertising: AdvertisingState = { enabled: false, data: Buffer.alloc(0), scanResponse: Buffer.alloc(0), parameters: null };
  private up = true;
  private readonly failures: Array<{ opcode: number; status: number; times: number; params?: Buffer }> = [];
  private readonly queue: Answer[] = [];
  private holding = false;
  private flushScheduled = false;
  private seq = 0;

  constructor(options: FakeHciControllerOptions = {}) {
    this.address = options.address ?? 'b8:27:eb:12:34:56';
    this.hciVersion = options.hciVersion ?? 0x09;
    this.strictAdvertiseEnable = options.strictAdvertiseEnable ?? this.hciVersion < 0x09;
  }

  /** The class to put in the require cache in place of `@abandonware/bluetooth-hci-socket`. */
  socketClass(): typeof FakeHciSocketBase {
    const controller = this;
    return class FakeHciSocket extends FakeHciSocketBase {
      constructor() {
        super(controller);
      }
    };
  }

  isDevUp(): boolean {
    return this.up;
  }

  /**
   * Takes the device down (false) or up (true). Down, nothing is on air, it answers nothing and
   * writes fail with ENETDOWN; bleno notices at its next isDevUp() poll (every second) and reports
   * `poweredOff`. Up again, the controller has been reset: advertising is off, its data empty.
   */
  setDevUp(up: boolean): void {
    if (up !== this.up) this.advertising = { enabled: false, data: Buffer.alloc(0), scanResponse: Buffer.alloc(0), parameters: null };
    if (!up) this.queue.length = 0;
    this.up = up;
  }

  /**
   * Answers the next `times` commands with this opcode (and, if given, exactly these parameters,
   * e.g. `[1]` for Advertise Enable(1) only) with `status`, changing no state.
   */
  failNext(opcode: number, status: number, times = 1, params?: readonly number[]): void {
    this.failures.push({ opcode, status, times, ...(params ? { params: Buffer.from(params) } : {}) });
  }

  /** Makes every raw socket emit an error as the native socket does, e.g. 'EPERM' (bleno: `unauthorized`). */
  socketError(code: string, message = code): void {
    for (const socket of this.sockets) {
      if (socket.channel === 'raw' || socket.channel === 'user') socket.emit('error', Object.assign(new Error(`${code}, ${message}`), { code }));
    }
  }

  /** Holds answers back (a controller that does not answer) until release(). */
  hold(): void {
    this.holding = true;
  }

  release(): void {
    this.holding = false;
    this.scheduleFlush();
  }

  /** A mark to pass to since(). */
  mark(): number {
    return this.commands.length;
  }

  since(mark: number, opcode?: number): HciCommandRecord[] {
    return this.commands.slice(mark).filter((c) => opcode === undefined || c.opcode === opcode);
  }

  /** The significant bytes of each LE Set Advertising Data command since the mark (the length byte says how many). */
  advertisingDataSince(mark = 0): Buffer[] {
    return this.since(mark, OP.LE_SET_ADVERTISING_DATA).map((c) => c.params.subarray(1, 1 + (c.params[0] ?? 0)));
  }

  scanResponseDataSince(mark = 0): Buffer[] {
    return this.since(mark, OP.LE_SET_SCAN_RESPONSE_DATA).map((c) => c.params.subarray(1, 1 + (c.params[0] ?? 0)));
  }

  /** The Advertising_Enable values written since the mark, e.g. [0, 1]. */
  advertiseEnablesSince(mark = 0): number[] {
    return this.since(mark, OP.LE_SET_ADVERTISE_ENABLE).map((c) => c.params[0] ?? -1);
  }

  /** @internal A raw socket wrote a packet. */
  command(socket: FakeHciSocketBase, packet: Buffer): void {
    if (packet.length < 4 || packet[0] !== HCI_COMMAND_PKT) throw new Error(`fake HCI: not a command packet: ${packet.toString('hex')}`);
    const opcode = packet.readUInt16LE(1);
    const plen = packet[3] ?? 0;
    const params = Buffer.from(packet.subarray(4));
    if (params.length !== plen) throw new Error(`fake HCI: parameter length ${plen} but ${params.length} bytes follow`);
    const record: HciCommandRecord = {
      seq: this.seq++,
      opcode,
      ogf: opcode >> 10,
      ocf: opcode & 0x03ff,
      name: NAMES.get(opcode) ?? `0x${opcode.toString(16).padStart(4, '0')}`,
      params,
      packet: Buffer.from(packet),
      status: undefined,
    };
    this.commands.push(record);
    if (!this.up) {
      // The kernel refuses to send a command to a device that is down (hci_sock_sendmsg: -ENETDOWN),
      // and the native socket emits that synchronously from write().
      socket.emit('error', Object.assign(new Error('ENETDOWN, Network is down'), { errno: -100, code: 'ENETDOWN', syscall: 'write' }));
      return;
    }
    const { status, result } = this.execute(opcode, params);
    record.status = status;
    const event = Buffer.alloc(7 + result.length);
    event.writeUInt8(HCI_EVENT_PKT, 0);
    event.writeUInt8(EVT_CMD_COMPLETE, 1);
    event.writeUInt8(4 + result.length, 2);
    event.writeUInt8(1, 3); // Num_HCI_Command_Packets
    event.writeUInt16LE(opcode, 4);
    event.writeUInt8(status, 6);
    result.copy(event, 7);
    this.queue.push({ socket, packet: event });
    this.scheduleFlush();
  }

  private execute(opcode: number, params: Buffer): { status: number; result: Buffer } {
    const returned = RETURN_LENGTH.get(opcode) ?? 0;
    const failure = this.failures.find((f) => f.opcode === opcode && f.times > 0 && (!f.params || f.params.equals(params)));
    if (failure) {
      failure.times -= 1;
      return { status: failure.status, result: Buffer.alloc(returned) };
    }
    const ok = (result: Buffer = Buffer.alloc(0)) => ({ status: HCI_STATUS.SUCCESS, result });
    const refuse = (status: number) => ({ status, result: Buffer.alloc(returned) });
    switch (opcode) {
      case OP.RESET:
        this.advertising = { enabled: false, data: Buffer.alloc(0), scanResponse: Buffer.alloc(0), parameters: null };
        return ok();
      case OP.SET_EVENT_MASK:
      case OP.LE_SET_EVENT_MASK:
      case OP.WRITE_LE_HOST_SUPPORTED:
        return ok();
      case OP.READ_LE_HOST_SUPPORTED:
        return ok(Buffer.from([0x01, 0x00]));
      case OP.READ_LOCAL_VERSION: {
        const r = Buffer.alloc(8);
        r.writeUInt8(this.hciVersion, 0); // HCI_Version
        r.writeUInt16LE(0x0100, 1); // HCI_Revision
        r.writeUInt8(this.hciVersion, 3); // LMP_Version
        r.writeUInt16LE(0x000f, 4); // Manufacturer: Broadcom
        r.writeUInt16LE(0x2209, 6); // LMP_Subversion
        return ok(r);
      }
      case OP.READ_BD_ADDR:
        return ok(Buffer.from(this.address.split(':').reverse().join(''), 'hex'));
      case OP.LE_READ_BUFFER_SIZE: {
        const r = Buffer.alloc(3);
        r.writeUInt16LE(251, 0);
        r.writeUInt8(10, 2);
        return ok(r);
      }
      case OP.READ_BUFFER_SIZE: {
        const r = Buffer.alloc(7);
        r.writeUInt16LE(1021, 0);
        r.writeUInt8(64, 2);
        r.writeUInt16LE(8, 3);
        r.writeUInt16LE(1, 5);
        return ok(r);
      }
      case OP.LE_SET_ADVERTISING_PARAMETERS:
        // Core spec 7.8.5: the Host shall not issue this command while advertising is enabled.
        if (params.length !== 15) return refuse(HCI_STATUS.INVALID_PARAMETERS);
        if (this.advertising.enabled) return refuse(HCI_STATUS.COMMAND_DISALLOWED);
        this.advertising.parameters = Buffer.from(params);
        return ok();
      case OP.LE_SET_ADVERTISING_DATA:
      case OP.LE_SET_SCAN_RESPONSE_DATA: {
        const length = params[0] ?? 0;
        if (params.length !== 32 || length > 31) return refuse(HCI_STATUS.INVALID_PARAMETERS);
        const data = Buffer.from(params.subarray(1, 1 + length));
        if (opcode === OP.LE_SET_ADVERTISING_DATA) this.advertising.data = data;
        else this.advertising.scanResponse = data;
        return ok();
      }
      case OP.LE_SET_ADVERTISE_ENABLE: {
        const enable = params[0];
        if (params.length !== 1 || (enable !== 0 && enable !== 1)) return refuse(HCI_STATUS.INVALID_PARAMETERS);
        if (enable === 1 && this.advertising.enabled && this.strictAdvertiseEnable) return refuse(HCI_STATUS.COMMAND_DISALLOWED);
        this.advertising.enabled = enable === 1;
        return ok();
      }
      default:
        return refuse(HCI_STATUS.UNKNOWN_COMMAND);
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.holding) return;
    this.flushScheduled = true;
    // One answer per turn of the event loop, like a socket read: bleno may write more commands
    // while handling one event, and those are answered after the ones already queued.
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.holding) return;
      const next = this.queue.shift();
      if (!next) return;
      if (next.socket.started) next.socket.emit('data', next.packet);
      if (this.queue.length > 0) this.scheduleFlush();
    });
  }
}

/** Return parameter bytes after the status, so a failed command still carries a well-formed answer. */
const RETURN_LENGTH = new Map<number, number>([
  [OP.READ_LE_HOST_SUPPORTED, 2],
  [OP.READ_LOCAL_VERSION, 8],
  [OP.READ_BD_ADDR, 6],
  [OP.LE_READ_BUFFER_SIZE, 3],
  [OP.READ_BUFFER_SIZE, 7],
]);

/** The methods of the native `BluetoothHciSocket` that bleno's hci.js and mgmt.js call. */
export class FakeHciSocketBase extends EventEmitter {
  started = false;
  channel: 'raw' | 'user' | 'control' | null = null;
  devId: number | null = null;

  constructor(private readonly controller: FakeHciController) {
    super();
    controller.sockets.push(this);
  }

  bindRaw(devId?: number): number {
    this.channel = 'raw';
    this.devId = devId ?? 0;
    return this.devId;
  }

  bindUser(devId?: number): number {
    this.channel = 'user';
    this.devId = devId ?? 0;
    return this.devId;
  }

  bindControl(): number {
    this.channel = 'control';
    return 0;
  }

  isDevUp(): boolean {
    return this.controller.isDevUp();
  }

  getDeviceList(): Array<{ devId: number; devUp: boolean; idVendor: null; idProduct: null; busNumber: null; deviceAddress: null }> {
    return [{ devId: 0, devUp: this.controller.isDevUp(), idVendor: null, idProduct: null, busNumber: null, deviceAddress: null }];
  }

  setFilter(filter: Buffer): void {
    this.controller.filters.push(Buffer.from(filter));
  }

  start(): void {
    this.started = true;
  }

  stop(): void {
    this.started = false;
  }

  reset(): void {}

  cleanup(): void {}

  write(data: Buffer): void {
    if (this.channel === 'control') {
      this.controller.mgmtWrites.push(Buffer.from(data));
      return;
    }
    if (this.channel === null) throw new Error('fake HCI: write on an unbound socket');
    this.controller.command(this, data);
  }
}

/**
 * Puts the fake in the CJS require cache under the path bleno's own `require` resolves
 * (`@abandonware/bluetooth-hci-socket` seen from bleno's lib/hci-socket/hci.js), and returns its
 * controller. Throws if bleno was already loaded in this process: it would hold the real socket.
 */
export function installFakeHciSocket(options: FakeHciControllerOptions = {}): FakeHciController {
  const require = createRequire(import.meta.url);
  const blenoHci = require.resolve('@abandonware/bleno/lib/hci-socket/hci.js');
  if (require.cache[blenoHci]) throw new Error('bleno is already loaded in this process: install the fake HCI socket before loading it');
  const filename = createRequire(blenoHci).resolve('@abandonware/bluetooth-hci-socket');
  const controller = new FakeHciController(options);
  const fake = new Module(filename);
  fake.filename = filename;
  fake.loaded = true;
  fake.exports = controller.socketClass();
  require.cache[filename] = fake;
  return controller;
}
