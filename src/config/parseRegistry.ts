/**
 * Reads the Locrit registry (`locrits:`) of the application's config.yaml. The section belongs
 * to the application, so it is read leniently: a shape locrit-mem does not expect becomes an
 * info note, never a warning or a refusal.
 */
import { isMap, isScalar, type Node, type Pair } from 'yaml';
import { configNote, type ConfigNote, type LocritRegistry } from './registry.js';
import type { ValueSource } from './sources.js';

type LineOf = (node: Node | null | undefined) => number;

function keyText(pair: Pair): string {
  return String(isScalar(pair.key) ? pair.key.value : pair.key);
}

function child(map: Node | null | undefined, key: string): Pair | null {
  if (!isMap(map)) return null;
  return ((map.items as Pair[]).find((pair) => keyText(pair) === key) ?? null);
}

function scalarValue(pair: Pair | null): unknown {
  if (pair === null) return undefined;
  const node = pair.value as Node | null;
  return isScalar(node) ? node.value : node === null ? null : '(a mapping or list)';
}

/** Reads `locrits:` (its node in the parsed document). Notes go to `notes`. */
export function parseRegistry(section: Node | null, file: string, lineOf: LineOf, notes: ConfigNote[]): LocritRegistry {
  const registry: LocritRegistry = { file, defaultMemoryService: null, instances: [] };
  if (section === null || (isScalar(section) && section.value === null)) return registry;
  if (!isMap(section)) {
    notes.push(configNote('unexpected-value', `${file}:${lineOf(section)}: 'locrits' is not a mapping; no Locrit is registered`));
    return registry;
  }
  const defaultsPair = child(section, 'default_settings');
  const defaultPair = child(defaultsPair?.value as Node | null, 'memory_service');
  const defaultValue = scalarValue(defaultPair);
  if (typeof defaultValue === 'string' && defaultValue !== '') registry.defaultMemoryService = defaultValue;
  else if (defaultPair !== null) notes.push(configNote('unexpected-value', `${file}:${lineOf(defaultPair.key as Node)}: 'locrits.default_settings.memory_service' is not a name; ignored`));
  const defaultSource: ValueSource | null =
    registry.defaultMemoryService !== null && defaultPair !== null
      ? { from: 'config', key: 'locrits.default_settings.memory_service', file, line: lineOf(defaultPair.key as Node) }
      : null;

  const instancesPair = child(section, 'instances');
  const instances = (instancesPair?.value ?? null) as Node | null;
  if (instances === null || (isScalar(instances) && instances.value === null)) return registry;
  if (!isMap(instances)) {
    notes.push(configNote('unexpected-value', `${file}:${lineOf(instances)}: 'locrits.instances' is not a mapping; no Locrit is registered`));
    return registry;
  }
  for (const pair of instances.items as Pair[]) {
    const displayName = keyText(pair);
    const line = lineOf(pair.key as Node);
    const settings = pair.value as Node | null;
    const activeValue = scalarValue(child(settings, 'active'));
    const servicePair = child(settings, 'memory_service');
    const serviceValue = scalarValue(servicePair);
    let memoryService: string | null = registry.defaultMemoryService;
    let memoryServiceSource = defaultSource;
    if (typeof serviceValue === 'string' && serviceValue !== '') {
      memoryService = serviceValue;
      memoryServiceSource = { from: 'config', key: `locrits.instances.${displayName}.memory_service`, file, line: lineOf(servicePair!.key as Node) };
    } else if (servicePair !== null) {
      notes.push(configNote('unexpected-value', `${file}:${lineOf(servicePair.key as Node)}: memory_service of '${displayName}' is not a name; ignored`, null, displayName));
    }
    registry.instances.push({ displayName, active: typeof activeValue === 'boolean' ? activeValue : null, memoryService, memoryServiceSource, line });
  }
  return registry;
}
