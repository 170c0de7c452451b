/** Messages between the decode pool and its worker threads (carried by a TaskPool). */
import type { PreprocessSpec } from '../../shared/manifest/preprocess.ts';
import type { DecodeTarget } from '../../shared/preprocess/shrink.ts';

export interface DecodeWorkerInit {
  /** The model input (NCHW) every file is turned into. */
  spec: PreprocessSpec;
  target?: DecodeTarget;
}

export interface DecodeRequest {
  path: string;
}

export interface DecodeResponse {
  tensor: Float32Array;
  /** The decoded image's size before resizing (after shrink-on-load). */
  width: number;
  height: number;
  channels: number;
  /** Time the worker spent reading + decoding + writing the tensor. */
  ms: number;
}
