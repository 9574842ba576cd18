/**
 * Spreadsheet formula injection (OWASP "CSV injection"): a cell that starts with one of these is
 * taken as a formula by Excel, LibreOffice or Google Sheets when the file is opened or the cell
 * is edited, so a name like `=HYPERLINK("http://evil","click")` could run or leak data.
 * Tab and carriage return are on the list because some spreadsheets strip them and then see `=`.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/** Whether a text cell would be read as a formula. */
export function looksLikeFormula(text: string): boolean {
  return FORMULA_START.test(text);
}

/**
 * OWASP's rule: prefix such a cell with a single quote, so it is shown as the text it is and never
 * evaluated. Only text goes through here; real numbers (a negative number of minutes) stay numbers.
 */
export function guardFormula(text: string): string {
  return looksLikeFormula(text) ? `'${text}` : text;
}
