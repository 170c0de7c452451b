/** What every demo step shares. */
import type { ObjectStore } from '../../shared/store/types.ts';
import type { Progress } from '../train/progress.ts';
import type { Narrator } from './narrator.ts';
import type { DemoProfile } from './profile.ts';

export interface DemoContext {
  profile: DemoProfile;
  store: ObjectStore;
  /** The store URL as given (for the commands printed at the end). */
  storeUrl: string;
  /** This run's folder: exports, generated images. */
  workDir: string;
  /** Cache root shared with the tests (.edgetune/cache or $EDGETUNE_CACHE_DIR). */
  cacheRoot: string;
  n: Narrator;
  /** For the long parts (pretraining): bars on a TTY, plain lines otherwise. */
  progress: Progress;
}
