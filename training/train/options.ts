/** Options and result of `runTraining` (the library form of `edgetune train`). */
import type { QuantizedVariant } from '../../shared/manifest/manifest.ts';
import type { onnx } from '../../shared/onnx/proto.ts';
import type { ObjectStore } from '../../shared/store/types.ts';
import type { InputOptions } from '../backbones/input-options.ts';
import type { Dataset } from '../datasets/types.ts';
import type { Evaluation } from '../evaluate/metrics.ts';
import type { FeatureStats } from '../features/extract.ts';
import type { Throughput } from './throughput.ts';
import type { Device } from '../features/session.ts';
import type { HeadSpec } from '../fit/head.ts';
import type { EpochRecord } from '../fit/loop.ts';
import type { ParityReport } from '../export/parity.ts';
import type { BackendRequest } from '../tf/backend.ts';
import type { Progress } from './progress.ts';
import type { TrainingRecipe } from './recipe.ts';
import type { ChosenConfiguration } from '../select/auto.ts';
import type { Selection } from '../select/search.ts';

export interface TrainOptions {
  /** nsfwjs:MobileNetV2 | tfjs:<model.json> | <file.onnx> | hf:<org>/<repo>[@rev][/file.onnx] | https://… */
  backbone: string;
  /** The sha256 the backbone file must have (`--sha256`; retraining passes the recipe's). */
  backboneSha256?: string;
  /**
   * Dataset spec for training (a validation split is taken from it), or a dataset already in
   * memory (retraining: base data + feedback).
   */
  data: string | Dataset;
  /** Model name (registry name, [a-z0-9][a-z0-9_-]*). */
  name: string;
  /** Held-out test set (spec or in memory); default: the validation split. */
  testData?: string | Dataset;
  /** Preprocessing and input shape of a plain ONNX backbone (--preprocess, --mean, ...). */
  input?: InputOptions;
  /** Embedding tensor (ONNX tensor or Keras layer name); default the backbone's suggested feature. */
  featureLayer?: string;
  /** 0 (default) = frozen backbone; N = re-train the last N conv layers; or a boundary tensor name. */
  trainable?: number | string;
  head?: string | HeadSpec;
  /** Max epochs of the head phase (early stopping on validation loss); default 100. */
  epochs?: number;
  /** Epochs at lr/10 training everything trainable; default 10 with --trainable > 0, else 0. */
  fineTuneEpochs?: number;
  /** Adam learning rate of the head phase; default 1e-2 (frozen) or 3e-3 (--trainable > 0). */
  lr?: number;
  valSplit?: number;
  seed?: number;
  batchSize?: number;
  patience?: number;
  baseline?: 'scratch';
  /**
   * 'transfer' exports the transfer model; 'best' whichever of transfer and the scratch baseline
   * wins on validation (the quick two-way choice); 'auto' cross-validates feature layers, heads,
   * fine-tuning depths and the scratch CNN (training/select/). Default: 'auto' when
   * `autoSelectBelow` is set and the smallest class has fewer labelled images, else 'transfer'.
   */
  select?: 'transfer' | 'best' | 'auto';
  /**
   * `edgetune train` sets AUTO_SELECT_BELOW (50) unless a flag pins the configuration
   * (--feature-layer, --trainable, --head, --baseline); library callers opt in.
   */
  autoSelectBelow?: number;
  /** Seconds `--select auto` may spend searching (default 600). */
  searchBudget?: number;
  /** A previous search's winner (recipe): reused instead of searching, unless `searchAgain`. */
  chosen?: ChosenConfiguration;
  /** Search again even though `chosen` is given (a retrain policy asking for a new search). */
  searchAgain?: boolean;
  /** Export directory; default .edgetune/runs/<name>-<timestamp>. */
  out?: string;
  /** Publish to this store URL after the parity gate passes. */
  store?: string;
  /**
   * A store whose feature shards (`edgetune features --store`) are read before running the
   * prefix, without publishing there: the retraining worker's own store. `store` implies it.
   */
  featureStore?: ObjectStore;
  /** Also produce an int8 variant (model.int8.onnx), kept only if it passes its accuracy gate. */
  quantize?: 'int8';
  /** The int8 gate's largest accepted held-out accuracy drop, in points (default 0.5). */
  maxAccuracyDropPoints?: number;
  device?: Device;
  backend?: BackendRequest;
  /** Feature cache root; default .edgetune/cache/features (or $EDGETUNE_CACHE_DIR/features). */
  cacheDir?: string;
  cwd?: string;
  progress?: Progress;
  /** Parent version recorded in the manifest (retraining). */
  parent?: string | null;
  /**
   * What to write as the export's training.json (recipe.ts). Default: derived from these options
   * when `data` (and `testData`) are specs; none when they are in-memory datasets. null: none.
   */
  recipe?: TrainingRecipe | null;
  /**
   * Internal (tests): changes the assembled ONNX before the parity gate, e.g. to prove that a
   * broken export is refused.
   */
  tamperExport?: (model: onnx.ModelProto) => onnx.ModelProto;
}

export interface ModelOutcome {
  kind: 'transfer' | 'baseline';
  /** Held-out evaluation (test data, or validation when there is none). */
  heldOut: Evaluation;
  val: Evaluation;
  history: EpochRecord[];
  seconds: number;
}

export interface TrainResult {
  name: string;
  outDir: string;
  files: { model: string; manifest: string; metrics: string; report: string };
  /** Which model was exported. */
  selected: 'transfer' | 'baseline';
  /** Held-out accuracy of the exported model. */
  accuracy: number;
  /**
   * Where the held-out figures come from: the test set, the validation split, or — when the export
   * fitted every labelled image (a computed head) — cross-validation.
   */
  heldOutSet: 'test' | 'validation' | 'cross-validation';
  /**
   * Present when the exported model (a search's SGD-trained pick) was trained again on all
   * `images` labelled images, for twice the `epochs` early stopping kept in a first fit on the
   * training split, the rate decayed (fit/phases.ts). Its validation figures are that first
   * fit's, scored before the refit.
   */
  refit?: { images: number; epochs: { head: number; fineTune: number } | number };
  transfer: ModelOutcome;
  baseline?: ModelOutcome;
  /** true when the scratch baseline beat transfer on held-out data (negative transfer). */
  baselineWins?: boolean;
  /** One plain sentence comparing transfer with the baseline. */
  verdict?: string;
  parity: ParityReport;
  features: FeatureStats;
  plan: {
    boundary: string;
    featureTensor: string;
    trainableConvs: number;
    embeddingDim: number;
    head: HeadSpec;
  };
  backbone: { source: string; sha256: string };
  /** Images per split; `heldOut`: the images behind the held-out figures. */
  counts: { train: number; val: number; test: number; heldOut: number; classes: number };
  labels: string[];
  version?: string;
  store?: string;
  /** The int8 variant with its gate result (with --quantize int8). */
  int8?: QuantizedVariant;
  timings: Record<string, number>;
  /** Data throughput and its time split (list / decode / features / fit), peak memory. */
  throughput?: Throughput;
  warnings: string[];
  /** `--select auto`: the configuration trained, and the search behind it (null when an earlier choice was reused). */
  selection?: { winner: ChosenConfiguration; search: Selection | null };
}
