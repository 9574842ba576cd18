import { SerialPortMock } from 'serialport';

/**
 * An in-memory null-modem cable for the demo: what one end writes, the other end reads. It stands
 * in for a pty pair where socat may not be installed; tests use real ptys instead. Paths look like
 * `virtual:NAME#a` and `virtual:NAME#b`.
 */
type MockBinding = typeof SerialPortMock.binding;
type MockEnd = Awaited<ReturnType<MockBinding['open']>>;

const openEnds = new Map<string, MockEnd>();
let installed = false;

export interface VirtualPair {
  a: string;
  b: string;
}

function peerOf(path: string): string {
  return path.endsWith('#a') ? `${path.slice(0, -2)}#b` : `${path.slice(0, -2)}#a`;
}

export function isVirtualPath(path: string): boolean {
  return path.startsWith('virtual:');
}

export function createVirtualPair(name: string): VirtualPair {
  useVirtualSerial();
  const pair = { a: `virtual:${name}#a`, b: `virtual:${name}#b` };
  SerialPortMock.binding.createPort(pair.a, { echo: false, record: false });
  SerialPortMock.binding.createPort(pair.b, { echo: false, record: false });
  return pair;
}

/**
 * Makes serialport's mock binding deliver each end's writes to the other end. The mock binding is
 * serialport's own process-wide object, so this is done once per process.
 */
export function useVirtualSerial(): void {
  if (installed) return;
  installed = true;
  const binding = SerialPortMock.binding;
  const open = binding.open.bind(binding);
  binding.open = async (options) => {
    const end = await open(options);
    const write = end.write.bind(end);
    end.write = async (buffer: Buffer): Promise<void> => {
      await write(buffer);
      const peer = openEnds.get(peerOf(options.path));
      if (peer?.isOpen) peer.emitData(Buffer.from(buffer));
    };
    const close = end.close.bind(end);
    end.close = async (): Promise<void> => {
      openEnds.delete(options.path);
      await close();
    };
    openEnds.set(options.path, end);
    return end;
  };
}
