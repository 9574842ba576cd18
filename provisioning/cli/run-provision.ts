import { runProvisionDevice } from './provision-device.js';
import { runProvisionEmployees } from './provision-employees.js';

export const provisionUsage = `usage: punchgate provision <what> ...

  provision device --site SITE [--id ID] [--name NAME] [--out DIR]
                                                  register a gateway and write its enrolment bundle
  provision employees import FILE [--dry-run]     import employees and badges from a CSV/XLSX file

Both talk to a running dashboard (--url, --token). Run "punchgate provision <what> --help" for options.`;

export interface ProvisionIo {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  /** For progress bars: written as is, without a newline. Absent: no progress shown. */
  progress?: (text: string) => void;
  env?: NodeJS.ProcessEnv;
}

/** `punchgate provision`: returns the exit code (0 done, 1 refused, 2 usage). */
export async function runProvision(argv: string[], io: ProvisionIo): Promise<number> {
  const [what, ...rest] = argv;
  switch (what) {
    case 'device':
      return runProvisionDevice(rest, io);
    case 'employees':
      return runProvisionEmployees(rest, io);
    case undefined:
    case '--help':
    case '-h':
      io.stdout(provisionUsage);
      return what === undefined ? 2 : 0;
    default:
      io.stderr(`punchgate provision: unknown "${what}"\n${provisionUsage}`);
      return 2;
  }
}
