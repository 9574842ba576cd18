import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  date: string;
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  /** What `df -T` says about the data dir's filesystem. */
  dataFs: { device: string; type: string; mountedOn: string; mountOptions?: string };
}

function cpuModel(): string {
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    // x86 prints "model name"; Raspberry Pi kernels print "Model" (the board) and/or "Hardware".
    for (const key of ['model name', 'Model', 'Hardware', 'cpu model', 'Processor']) {
      const match = new RegExp(`^${key}\\s*:\\s*(.+)$`, 'm').exec(text);
      if (match?.[1]) return match[1].trim();
    }
  } catch {
    // not Linux
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

function dataFs(dir: string): MachineInfo['dataFs'] {
  try {
    const lines = execFileSync('df', ['-T', dir], { encoding: 'utf8' }).trim().split('\n');
    const fields = (lines[lines.length - 1] ?? '').trim().split(/\s+/);
    const info: MachineInfo['dataFs'] = { device: fields[0] ?? '?', type: fields[1] ?? '?', mountedOn: fields[6] ?? '?' };
    try {
      info.mountOptions = execFileSync('findmnt', ['-n', '-o', 'OPTIONS', '-T', dir], { encoding: 'utf8' }).trim().split('\n')[0]?.trim() ?? '';
    } catch {
      // findmnt missing: the options are a nicety
    }
    return info;
  } catch (error) {
    return { device: '?', type: `unknown (${(error as Error).message})`, mountedOn: '?' };
  }
}

export function machineInfo(dataDir: string): MachineInfo {
  return {
    date: new Date().toISOString(),
    cpuModel: cpuModel(),
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    dataFs: dataFs(dataDir),
  };
}
