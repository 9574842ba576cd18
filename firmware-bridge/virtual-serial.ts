import { SerialPortMock } from 'serialport';

/**
 * An in-memory null-modem cable for the demo: what one end writes, the other end reads. It stands
 * in for a pty pair where socat may not be installed; tests use real ptys instead.
 */
type MockBinding = typeof SerialPortMock.binding;
type MockEnd = Awaited<ReturnType<MockBinding['open']>>;
type MockOpenOptions = Parameters<MockBinding['open']>[0];

const mock: MockBinding = SerialPortMock.binding;
const openEnds = new Map<string, MockEnd>();

export interface VirtualPair {
  a: string;
  b: string;
}

function peerOf(path: string): string {
  return path.endsWith('#a') ? `${path.slice(0, -2)}#b` : `${path.slice(0, -2)}#a`;
}

export function createVirtualPair(name: string): VirtualPair {
  const pair = { a: `virtual:${name}#a`, b: `virtual:${name}#b` };
  mock.createPort(pair.a, { echo: false, record: false });
  mock.createPort(pair.b, { echo: false, record: false });
  return pair;
}

export function isVirtualPath(path: string): boolean {
  return path.startsWith('virtual:');
}

export const VirtualSerialBinding: MockBinding = {
  ...mock,
  async open(options: MockOpenOptions): Promise<MockEnd> {
    const end = await mock.open(options);
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
  },
};
