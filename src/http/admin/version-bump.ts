/**
 * The next `version` for a reindex. A trailing integer is incremented, keeping its zero padding
 * (`v3` → `v4`, `1.9` → `1.10`, `release-041` → `release-042`); a version without one gets a UTC
 * timestamp suffix (`main` → `main-20250101120000`). Digits are handled as a BigInt so a long
 * build number never turns into `1e+21`.
 */
export function bumpVersion(version: string, now: Date): string {
  const match = /^(.*?)(\d+)$/.exec(version);
  if (match) {
    const [, head = '', digits = ''] = match;
    return `${head}${(BigInt(digits) + 1n).toString().padStart(digits.length, '0')}`;
  }
  return `${version}-${utcStamp(now)}`;
}

/** `yyyymmddhhmmss` in UTC: sorts like the time it names and is free of characters that need quoting. */
export function utcStamp(now: Date): string {
  return now.toISOString().replace(/\D/g, '').slice(0, 14);
}
