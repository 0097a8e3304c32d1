/** What every benchmark receives from the runner. */
export interface BenchContext {
  /** Smaller fixtures and fewer rounds: a smoke run, not the reference figures. */
  quick: boolean;
  /** Rounds per side, overriding each benchmark's default. */
  runs?: number;
  log: (line: string) => void;
}
