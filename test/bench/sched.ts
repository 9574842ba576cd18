import { readFileSync, readdirSync } from 'node:fs';

/**
 * What the Linux scheduler recorded for a process (all its threads), from /proc/PID/task/TID/schedstat:
 * time on a CPU, time runnable but waiting for a CPU (contention: other processes, or the
 * hypervisor not running this virtual CPU), and how many times it was put on a CPU.
 */
export interface Sched {
  cpuNs: number;
  waitNs: number;
  slices: number;
}

export function schedOf(pid: number): Sched | undefined {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  const total: Sched = { cpuNs: 0, waitNs: 0, slices: 0 };
  for (const task of tasks) {
    try {
      const [cpu = 0, wait = 0, slices = 0] = readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
      total.cpuNs += cpu;
      total.waitNs += wait;
      total.slices += slices;
    } catch {
      // the thread ended meanwhile
    }
  }
  return total;
}

/** Per operation, in ms and counts. */
export interface SchedPerOp {
  cpuMs: number;
  runQueueWaitMs: number;
  slices: number;
}

export function schedDelta(from: Sched | undefined, to: Sched | undefined, operations: number): SchedPerOp | undefined {
  if (!from || !to || operations <= 0) return undefined;
  const round = (value: number): number => Math.round(value * 1000) / 1000;
  return {
    cpuMs: round((to.cpuNs - from.cpuNs) / 1e6 / operations),
    runQueueWaitMs: round((to.waitNs - from.waitNs) / 1e6 / operations),
    slices: round((to.slices - from.slices) / operations),
  };
}

/** Children of `parent` whose command line contains `needle` (to find a PtyPair's socat). */
export function childPids(parent: number, needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== parent) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) found.push(Number(entry));
    } catch {
      // gone
    }
  }
  return found;
}
