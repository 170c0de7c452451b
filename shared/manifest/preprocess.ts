import { z } from 'zod';

/**
 * How raw image bytes become the model's input tensor. It is stored in every manifest, so the
 * training pipeline and the edge run exactly the same transformation.
 *
 * value = (pixel / 255 * scale - mean[c]) / std[c]; optional `invert` maps pixel → 255 - pixel first
 * (for dark-on-light digit scans fed to a light-on-dark model).
 */
export const PreprocessSpecSchema = z.object({
  width: z.number().int().min(1).max(4096),
  height: z.number().int().min(1).max(4096),
  channels: z.union([z.literal(1), z.literal(3)]),
  layout: z.enum(['NCHW', 'NHWC']),
  /**
   * How the decoded picture reaches width × height. A version keeps the one it was trained with:
   * - `bilinear`: full-size decode, bilinear with half-pixel centres (ONNX Resize `half_pixel`),
   *   no antialiasing — what every version published before `triangle` existed uses (the default
   *   when the field is absent);
   * - `triangle`: JPEG shrink-on-load (DCT-domain 1/2, 1/4, 1/8, leaving ≥ 2× for the resize),
   *   then a separable triangle filter stretched over the whole shrink (antialiased, as Pillow
   *   and libvips reduce);
   * - `triangle-fast`: the same with the largest DCT-domain shrink that still leaves ≥ 1× for the
   *   resize (sharp's default `fastShrinkOnLoad`, with its step down where libjpeg's scaled sizes
   *   round below the target): a 12 MP photo bound for 224×224 is decoded at 1/8, a 2 MP one at
   *   1/4. Four times fewer pixels to decode and resize than `triangle` for the same result the
   *   native pipeline gives. What new exports record.
   */
  resize: z.enum(['bilinear', 'triangle', 'triangle-fast']).default('bilinear'),
  scale: z.number().default(1),
  mean: z.array(z.number()).default([0]),
  std: z.array(z.number()).default([1]),
  invert: z.boolean().default(false),
  /** Channel order the model reads, RGB when absent (Caffe-style models want BGR); mean/std follow it. */
  channelOrder: z.enum(['rgb', 'bgr']).optional(),
});
export type PreprocessSpec = z.infer<typeof PreprocessSpecSchema>;

/** The resize every new export records (see `resize` above). */
export const CURRENT_RESIZE: PreprocessSpec['resize'] = 'triangle-fast';
