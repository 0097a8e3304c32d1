import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Version of the JSON output contract. Fields are added, never renamed or removed; a change
 * that breaks consumers would bump this number.
 */
export const REPORT_VERSION = 1;

export interface ToolInfo {
  name: 'locrit-mem';
  version: string;
}

let cachedVersion: string | undefined;
export function toolVersion(): string {
  cachedVersion ??= (JSON.parse(fs.readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as { version: string }).version;
  return cachedVersion;
}

export function toolInfo(): ToolInfo {
  return { name: 'locrit-mem', version: toolVersion() };
}
