/**
 * The preprocessing the photo benches time: a 224×224 RGB model input with the current resize,
 * what the reference MobileNetV2 export records. No Node imports: the bench-only Worker
 * (bench/photo-cpu/) bundles it too.
 */
import { CURRENT_RESIZE, PreprocessSpecSchema } from '../shared/manifest/preprocess.ts';

export const PHOTO_SPEC = PreprocessSpecSchema.parse({
  width: 224,
  height: 224,
  channels: 3,
  layout: 'NCHW',
  resize: CURRENT_RESIZE,
});
