import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

/** CPU time in clock ticks: the whole machine's busy time, and this bench's process tree. */
export interface CpuSnapshot {
  at: number;
  machineBusy: number;
  machineSteal: number;
  machineTotal: number;
  ours: number;
}

function machineTicks(): { busy: number; steal: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest is already inside user)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  return { busy: user + nice + system + irq + softirq, steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

/** utime + stime of this process and every descendant (gateway child, socat), in ticks. */
function ourTicks(): number {
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
      parent.set(Number(entry), Number(rest[1]));
      ticks.set(Number(entry), Number(rest[11]) + Number(rest[12]));
    } catch {
      // the process ended meanwhile
    }
  }
  let sum = 0;
  for (const [pid, value] of ticks) {
    for (let at: number | undefined = pid; at !== undefined && at > 1; at = parent.get(at)) {
      if (at === process.pid) {
        sum += value;
        break;
      }
    }
  }
  return sum;
}

export function cpuSnapshot(): CpuSnapshot {
  const machine = machineTicks();
  return { at: Date.now(), machineBusy: machine.busy, machineSteal: machine.steal, machineTotal: machine.total, ours: ourTicks() };
}

export interface CpuUse {
  /** Share of the whole machine (all cores = 100 %) that was busy. */
  machineBusyPct: number;
  /** Of that, this bench's processes (harness, gateway, socat). Processes that ended meanwhile are not counted. */
  oursPct: number;
  /** The rest: other processes on the machine, competing for the same cores. */
  othersPct: number;
  /** Time the hypervisor gave these virtual CPUs to someone else (0 on bare metal). */
  stealPct: number;
  loadAverage1m: number;
}

export function cpuUse(from: CpuSnapshot, to: CpuSnapshot): CpuUse {
  const total = Math.max(1, to.machineTotal - from.machineTotal);
  const busy = ((to.machineBusy - from.machineBusy) / total) * 100;
  const ours = ((to.ours - from.ours) / total) * 100;
  const round = (value: number): number => Math.round(value * 10) / 10;
  const steal = ((to.machineSteal - from.machineSteal) / total) * 100;
  return { machineBusyPct: round(busy), oursPct: round(ours), othersPct: round(Math.max(0, busy - ours)), stealPct: round(steal), loadAverage1m: round(os.loadavg()[0] ?? 0) };
}
