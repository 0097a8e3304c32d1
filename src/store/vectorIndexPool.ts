/**
 * The buffer pool a database needs while Kuzu builds an HNSW index in it. Kuzu 0.11 holds the
 * whole embedding column of the table in the pool during the build, a row without an embedding
 * taking as much room as one with it: over 100,000 messages of 768 floats (293 MiB of column,
 * 2,000 of them embedded) the build failed with "the buffer pool is full" in a 384 MiB pool
 * and passed in 448 MiB. The configured pool stays the floor; above it, the column plus room
 * for the rest of the work.
 */
const HEADROOM_MB = 160;

export function vectorIndexBuildPoolMb(configuredMb: number, rows: number, dimension: number): number {
  if (rows === 0) return configuredMb;
  const columnMb = Math.ceil((rows * dimension * 4) / 2 ** 20);
  return Math.max(configuredMb, columnMb + HEADROOM_MB);
}
