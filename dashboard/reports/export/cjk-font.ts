import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * The font the PDF writer embeds for every glyph, Latin and Chinese: Noto Sans TC (Traditional
 * Chinese, SIL Open Font License 1.1) as TrueType files from the npm package
 * @expo-google-fonts/noto-sans-tc. It comes from npm so a server never depends on what fonts its OS
 * happens to have; TrueType (not the CFF .otf of other packages) because pdfkit subsets it about
 * eight times faster and the PDFs come out smaller. pdfkit embeds only the glyphs a report uses.
 */
const PACKAGE = '@expo-google-fonts/noto-sans-tc';
const FILES = {
  regular: '400Regular/NotoSansTC_400Regular.ttf',
  bold: '700Bold/NotoSansTC_700Bold.ttf',
} as const;

export interface CjkFontFiles {
  regular: string;
  bold: string;
}

const require = createRequire(import.meta.url);

/** Absolute paths of the regular and bold font files; a clear error if the package is not installed. */
export function cjkFontFiles(): CjkFontFiles {
  let packageDir: string;
  try {
    packageDir = path.dirname(require.resolve(`${PACKAGE}/package.json`));
  } catch (error) {
    throw new Error(`the PDF export needs the font package ${PACKAGE} (npm install): ${(error as Error).message}`);
  }
  const files = { regular: path.join(packageDir, FILES.regular), bold: path.join(packageDir, FILES.bold) };
  for (const file of Object.values(files)) {
    if (!existsSync(file)) throw new Error(`the font file ${file} is missing from ${PACKAGE}`);
  }
  return files;
}
