/** How every open of a Locrit database is sized, the same in the parent and in worker processes. */
export interface StoreSettings {
  bufferPoolMb: number;
  threads: number;
}
