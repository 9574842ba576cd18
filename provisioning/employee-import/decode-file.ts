/**
 * Turns the bytes of an uploaded employee file into text, accepting only encodings that can be
 * read without guessing: UTF-8 (with or without a byte-order mark, what Excel's "CSV UTF-8"
 * writes) and UTF-16 with a byte-order mark (Excel's "Unicode text", which is tab-separated).
 * Anything else, such as Big5 or Latin-1 bytes or UTF-16 without a byte-order mark, would be
 * decoded into wrong names silently, so it is refused with what to do instead.
 */

export type ImportEncoding = 'utf-8' | 'utf-8-bom' | 'utf-16le' | 'utf-16be';

/** A whole file that cannot be read (encoding, not CSV, empty), in both languages. */
export class ImportFileError extends Error {
  override name = 'ImportFileError';
  constructor(
    message: string,
    readonly messageZh: string,
  ) {
    super(message);
  }
}

const SAVE_AS_EN = 'save it from Excel with "Save As" and the type "CSV UTF-8 (Comma delimited)", then upload that file';
const SAVE_AS_ZH = '請在 Excel 以「另存新檔」選擇「CSV UTF-8（逗號分隔）」格式儲存，再上載該檔案';

function refuse(whatEn: string, whatZh: string): never {
  throw new ImportFileError(`${whatEn}: ${SAVE_AS_EN}`, `${whatZh}：${SAVE_AS_ZH}`);
}

function decodeStrict(label: 'utf-8' | 'utf-16le', bytes: Uint8Array): string | undefined {
  try {
    // ignoreBOM: true keeps a second BOM as text rather than dropping it: we strip the one we saw.
    return new TextDecoder(label, { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

export function decodeImportFile(bytes: Buffer): { text: string; encoding: ImportEncoding } {
  const b0 = bytes[0];
  const b1 = bytes[1];
  if (b0 === 0xff && b1 === 0xfe) return utf16(bytes.subarray(2), 'utf-16le');
  if (b0 === 0xfe && b1 === 0xff) {
    // Swap each pair so one strict decoder serves both byte orders, whatever ICU Node was built with.
    const body = Buffer.from(bytes.subarray(2));
    if (body.length % 2 === 0) body.swap16();
    return utf16(body, 'utf-16be');
  }
  const bom = b0 === 0xef && b1 === 0xbb && bytes[2] === 0xbf;
  const body = bom ? bytes.subarray(3) : bytes;
  if (body.includes(0)) {
    // NUL bytes do not occur in a text CSV: this is UTF-16 without a byte-order mark, or not text at all.
    refuse('the file contains NUL bytes, so it is not UTF-8 text (perhaps UTF-16 without a byte-order mark, or a spreadsheet rather than CSV)', '檔案含有 NUL 位元組，並非 UTF-8 文字（可能是沒有位元組順序標記的 UTF-16，或是試算表而非 CSV）');
  }
  const text = decodeStrict('utf-8', body);
  if (text === undefined) {
    refuse('the file is not UTF-8 text (it may be Big5 or another legacy encoding, which would garble Chinese names)', '檔案不是 UTF-8 文字（可能是 Big5 或其他舊式編碼，中文姓名會變成亂碼）');
  }
  return { text, encoding: bom ? 'utf-8-bom' : 'utf-8' };
}

function utf16(body: Uint8Array, encoding: 'utf-16le' | 'utf-16be'): { text: string; encoding: ImportEncoding } {
  const text = body.length % 2 === 0 ? decodeStrict('utf-16le', body) : undefined;
  if (text === undefined || text.includes('\u0000')) {
    refuse(`the file starts as ${encoding.toUpperCase()} text but is not valid ${encoding.toUpperCase()}`, `檔案以 ${encoding.toUpperCase()} 開首，但內容不是有效的 ${encoding.toUpperCase()} 文字`);
  }
  return { text, encoding };
}
