import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { requireCommand } from './pty-pair.js';

const run = promisify(execFile);

/** Every disk not yet destroyed, so that a worker that exits early still leaves no mount behind. */
const live = new Set<LoopDisk>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const disk of live) disk.destroySync();
  });
}

async function sh(command: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(command, args, { encoding: 'utf8' });
    return stdout;
  } catch (error) {
    const failure = error as Error & { stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${(failure.stderr ?? '').trim() || failure.message}`);
  }
}

/**
 * An ext4 file system in a loop device, mounted in a temp dir: a disk whose power the test can
 * cut. `powerCut()` is the EXT4_IOC_SHUTDOWN ioctl with flag 2 (EXT4_GOING_FLAGS_NOLOGFLUSH):
 * from that instant no write reaches the disk, dirty page cache and the uncommitted journal are
 * dropped, exactly what a power cut leaves. `remount()` is the reboot: the journal is replayed and
 * the file system holds what had reached the disk. See ../shared/TESTING.md.
 *
 * Needs root and e2fsprogs, util-linux, xfsprogs (scripts/ensure-test-packages.sh).
 */
export class LoopDisk {
  private mounted = false;
  private attached = true;
  private destroyed = false;
  private readonly processes = new Set<ChildProcess>();

  private constructor(
    /** The temp dir holding the image and the mount point. */
    readonly dir: string,
    readonly image: string,
    readonly device: string,
    /** Where the file system is mounted: put the data dir under it. */
    readonly mount: string,
  ) {}

  static async create(options: { sizeMb?: number } = {}): Promise<LoopDisk> {
    if (process.getuid?.() !== 0) {
      throw new Error('this test cuts the power of a loop-device disk and must run as root (losetup, mount and the ext4 shutdown ioctl need it)');
    }
    requireCommand('losetup', 'util-linux');
    requireCommand('mount', 'mount');
    requireCommand('umount', 'mount');
    requireCommand('mkfs.ext4', 'e2fsprogs');
    requireCommand('xfs_io', 'xfsprogs');
    requireCommand('sync', 'coreutils');
    const dir = await mkdtemp(path.join(tmpdir(), 'punchgate-disk-'));
    const image = path.join(dir, 'disk.img');
    const mount = path.join(dir, 'mnt');
    let disk: LoopDisk | undefined;
    try {
      await sh('truncate', ['-s', `${options.sizeMb ?? 64}M`, image]);
      // 4 KiB blocks as on an SD card (mke2fs would pick 1 KiB for a small image); no lazy init, so
      // no kernel thread writes to the disk behind the test's back.
      await sh('mkfs.ext4', ['-q', '-F', '-b', '4096', '-E', 'lazy_itable_init=0,lazy_journal_init=0', image]);
      await mkdir(mount);
      const device = (await sh('losetup', ['-f', '--show', image])).trim();
      disk = new LoopDisk(dir, image, device, mount);
      live.add(disk);
      installExitHook();
      if (!device.startsWith('/dev/loop')) throw new Error(`losetup printed "${device}", not a loop device`);
      await sh('mount', ['-t', 'ext4', device, mount]);
      disk.mounted = true;
      return disk;
    } catch (error) {
      if (disk) await disk.destroy().catch(() => undefined);
      else await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** A process that has files open on the disk: killed (SIGKILL) before any unmount. */
  track<T extends ChildProcess>(child: T): T {
    this.processes.add(child);
    child.once('exit', () => this.processes.delete(child));
    return child;
  }

  /** Flushes everything written so far to the disk (syncfs): a known-good starting point. */
  async sync(): Promise<void> {
    await sh('sync', ['-f', this.mount]);
  }

  /**
   * Cuts the power: nothing written after this instant reaches the disk, and what was only in the
   * page cache or the uncommitted journal is gone. Processes using the disk get EIO from now on;
   * the caller kills them (`killTracked()`) before `remount()`.
   */
  async powerCut(): Promise<void> {
    // xfs_io's `shutdown` without -f passes XFS_FSOP_GOING_FLAGS_NOLOGFLUSH (2), the same value
    // and ioctl number as EXT4_GOING_FLAGS_NOLOGFLUSH / EXT4_IOC_SHUTDOWN (0x8004587D).
    await sh('xfs_io', ['-x', '-c', 'shutdown', this.mount]);
  }

  /** SIGKILLs every tracked process and waits until each has exited. */
  async killTracked(): Promise<void> {
    await Promise.all(
      [...this.processes].map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGKILL');
        await exited;
      }),
    );
  }

  /** The reboot: unmount and mount again, which replays the journal. */
  async remount(): Promise<void> {
    await this.unmount();
    await sh('mount', ['-t', 'ext4', this.device, this.mount]);
    this.mounted = true;
  }

  /** Unmounts, detaches the loop device and removes the image. Safe to call more than once. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    const problems: string[] = [];
    try {
      await this.unmount();
    } catch (error) {
      problems.push((error as Error).message);
      // Leave no mount behind: detach it from the tree now, the kernel frees it when unused.
      await sh('umount', ['-l', this.mount]).then(
        () => (this.mounted = false),
        (lazy: Error) => problems.push(lazy.message),
      );
    }
    if (this.attached) {
      await sh('losetup', ['-d', this.device]).then(
        () => (this.attached = false),
        (error: Error) => problems.push(error.message),
      );
    }
    if (!this.mounted) await rm(this.dir, { recursive: true, force: true });
    this.destroyed = !this.mounted && !this.attached;
    if (this.destroyed) live.delete(this);
    if (problems.length > 0) throw new Error(`cleaning up loop disk ${this.device} at ${this.mount}:\n${problems.join('\n')}`);
  }

  /** Last resort at process exit: no promises, no waiting. */
  destroySync(): void {
    if (this.destroyed) return;
    for (const child of this.processes) child.kill('SIGKILL');
    const quiet = { stdio: 'ignore' as const };
    try {
      if (this.mounted) execFileSync('umount', ['-l', this.mount], quiet);
    } catch {
      /* nothing more to do at exit */
    }
    try {
      if (this.attached) execFileSync('losetup', ['-d', this.device], quiet);
    } catch {
      /* nothing more to do at exit */
    }
    this.destroyed = true;
    live.delete(this);
  }

  private async unmount(): Promise<void> {
    if (!this.mounted) return;
    await this.killTracked();
    let lastError: Error | undefined;
    // A process that just died may hold the mount for a moment while the kernel closes its files.
    for (let attempt = 0; attempt < 20; attempt += 1) {
      try {
        await sh('umount', [this.mount]);
        this.mounted = false;
        return;
      } catch (error) {
        lastError = error as Error;
        await sleep(50 * Math.min(attempt + 1, 5));
      }
    }
    throw lastError ?? new Error(`could not unmount ${this.mount}`);
  }
}
