import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the kiosk page's files are: its HTML, script and styles in `gateway/kiosk/public/` (next
 * to this file when run from source, in the checkout when run from dist/), and the Chinese font
 * from npm (Noto Sans TC, SIL Open Font License 1.1, the package the dashboard's PDF export uses):
 * a Pi's Chromium then shows 請拍卡 whatever fonts its OS has, with nothing from the internet.
 */

/** The page's own files, by the name they are served under (`/kiosk/assets/NAME`), with their types. */
export const kioskAssetTypes = {
  'kiosk.js': 'text/javascript; charset=utf-8',
  'kiosk-text.js': 'text/javascript; charset=utf-8',
  'kiosk.css': 'text/css; charset=utf-8',
  'icon.svg': 'image/svg+xml',
} as const;
export type KioskAssetName = keyof typeof kioskAssetTypes;

const FONT_PACKAGE = '@expo-google-fonts/noto-sans-tc';
/** Served as `/kiosk/fonts/NAME`; the CSS asks for them only for CJK characters the system cannot show. */
const FONT_FILES = {
  'noto-sans-tc-400.ttf': '400Regular/NotoSansTC_400Regular.ttf',
  'noto-sans-tc-700.ttf': '700Bold/NotoSansTC_700Bold.ttf',
} as const;
export type KioskFontName = keyof typeof FONT_FILES;

/** `gateway/kiosk/public`, which holds kiosk.html and the assets. */
export function kioskPublicDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'public'), path.resolve(here, '../../../gateway/kiosk/public')];
  const found = candidates.find((candidate) => existsSync(path.join(candidate, 'kiosk.html')));
  if (!found) throw new Error(`the kiosk screen cannot find its page (looked for kiosk.html in ${candidates.join(', ')})`);
  return found;
}

/** Absolute paths of the font files, or why there are none (the page then uses the system's fonts). */
export function kioskFontFiles(): { files: Record<KioskFontName, string> } | { missing: string } {
  const require = createRequire(import.meta.url);
  let packageDir: string;
  try {
    packageDir = path.dirname(require.resolve(`${FONT_PACKAGE}/package.json`));
  } catch (error) {
    return { missing: `the font package ${FONT_PACKAGE} is not installed (npm install): ${(error as Error).message}` };
  }
  const files = Object.fromEntries(Object.entries(FONT_FILES).map(([name, file]) => [name, path.join(packageDir, file)])) as Record<KioskFontName, string>;
  const absent = Object.values(files).filter((file) => !existsSync(file));
  return absent.length > 0 ? { missing: `font files missing: ${absent.join(', ')}` } : { files };
}
