/** Days since the epoch of a business date (YYYYMMDD): differences are business-day counts. */
export function dayNumber(yyyymmdd: string): number {
  return Date.UTC(Number(yyyymmdd.slice(0, 4)), Number(yyyymmdd.slice(4, 6)) - 1, Number(yyyymmdd.slice(6, 8))) / 86_400_000;
}

/** The local calendar date of `d` as YYYYMMDD. */
export function localDate(d: Date): string {
  return String(d.getFullYear()) + String(d.getMonth() + 1).padStart(2, '0') + String(d.getDate()).padStart(2, '0');
}

/** Whether `yyyymmdd` is a calendar date. */
export function isDate(yyyymmdd: string): boolean {
  if (!/^\d{8}$/.test(yyyymmdd)) return false;
  const d = new Date(Date.UTC(Number(yyyymmdd.slice(0, 4)), Number(yyyymmdd.slice(4, 6)) - 1, Number(yyyymmdd.slice(6, 8))));
  return d.getUTCDate() === Number(yyyymmdd.slice(6, 8)) && d.getUTCMonth() === Number(yyyymmdd.slice(4, 6)) - 1;
}

/** A business date as a person writes it (YYYYMMDD or YYYY-MM-DD) in the journal's form, or undefined if it is not a date. */
export function parseBusinessDate(text: string): string | undefined {
  const compact = text.replace(/^(\d{4})-(\d{2})-(\d{2})$/, '$1$2$3');
  return isDate(compact) ? compact : undefined;
}

/** The calendar day after `date` (YYYYMMDD). */
export function dayAfter(date: string): string {
  const d = new Date(Date.UTC(Number(date.slice(0, 4)), Number(date.slice(4, 6)) - 1, Number(date.slice(6, 8)) + 1));
  return d.toISOString().slice(0, 10).replace(/-/g, '');
}
