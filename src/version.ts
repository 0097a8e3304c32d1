/** This tool's version, read once from package.json (archives and reports record it). */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

let cachedVersion: string | undefined;
export function toolVersion(): string {
  cachedVersion ??= (JSON.parse(fs.readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string }).version;
  return cachedVersion;
}
