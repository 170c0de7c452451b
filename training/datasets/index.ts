/** Dataset specs and loaders for training (Node only). */
export { datasetDigest } from './digest.ts';
export { imageId, type LoadDatasetOptions, loadDataset } from './load.ts';
export { OPENCV_DIGITS_FILE } from './sources/opencv-digits.ts';
export {
  DATASET_KINDS,
  type DatasetOptions,
  type DatasetSource,
  type DatasetSpec,
  expandClassSelectors,
  parseDatasetSpec,
} from './spec.ts';
export { classCounts, type Split, type SplitOptions, splitDataset } from './split.ts';
export type { Dataset, Sample } from './types.ts';
