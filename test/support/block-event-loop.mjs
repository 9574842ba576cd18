// Preloaded into a real `punchgate gateway` by test/integration/systemd-watchdog.test.ts
// (node --import): on SIGUSR2 it blocks the event loop, as a stuck callback would, for
// PUNCHGATE_TEST_BLOCK_MS. The block is bracketed by two marker datagrams sent to the same notify
// socket, synchronously from inside the blocked callback, so the receiver sees in order what the
// gateway sent before, during and after the block.
import { execFileSync } from 'node:child_process';

// Read now: the gateway's notifier removes NOTIFY_SOCKET from the environment once it has it.
const socketPath = process.env.NOTIFY_SOCKET;
const blockMs = Number(process.env.PUNCHGATE_TEST_BLOCK_MS ?? 2000);

const mark = (text) => execFileSync('socat', ['-u', 'STDIN', `UNIX-SENDTO:${socketPath}`], { input: `${text}\n` });

process.on('SIGUSR2', () => {
  mark('TEST=block-begin');
  const end = Date.now() + blockMs;
  while (Date.now() < end) {
    // Busy: no timer, no I/O callback runs until this returns.
  }
  mark('TEST=block-end');
});
