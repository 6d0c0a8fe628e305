/** Card number rules: Luhn check digit, masking for logs and receipts, expiry. */

export function luhnCheckDigit(body: string): number {
  let sum = 0;
  for (let i = body.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = body.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

export function luhnValid(pan: string): boolean {
  return pan.length >= 12 && /^\d+$/.test(pan) && luhnCheckDigit(pan.slice(0, -1)) === pan.charCodeAt(pan.length - 1) - 48;
}

/** First 6 and last 4 digits kept, as card schemes allow on receipts and in logs. */
export function maskPan(pan: string): string {
  if (pan.length < 11) return '*'.repeat(pan.length);
  return pan.slice(0, 6) + '*'.repeat(pan.length - 10) + pan.slice(-4);
}

/** True when expiry YYMM is before the month of `now`. */
export function expired(expiry: string, now: Date): boolean {
  const yy = Number(expiry.slice(0, 2));
  const mm = Number(expiry.slice(2, 4));
  if (!(mm >= 1 && mm <= 12)) return true;
  const current = (now.getFullYear() % 100) * 100 + now.getMonth() + 1;
  return yy * 100 + mm < current;
}
