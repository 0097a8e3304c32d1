import { toolVersion } from '../version.js';

/**
 * Version of the JSON output contract. Fields are added, never renamed or removed; a change
 * that breaks consumers would bump this number.
 */
export const REPORT_VERSION = 1;

export interface ToolInfo {
  name: 'locrit-mem';
  version: string;
}

export function toolInfo(): ToolInfo {
  return { name: 'locrit-mem', version: toolVersion() };
}
