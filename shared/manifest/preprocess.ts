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
  /** Bilinear with half-pixel centres (the same sampling as ONNX Resize `half_pixel`). */
  resize: z.literal('bilinear').default('bilinear'),
  scale: z.number().default(1),
  mean: z.array(z.number()).default([0]),
  std: z.array(z.number()).default([1]),
  invert: z.boolean().default(false),
  /** Channel order the model reads, RGB when absent (Caffe-style models want BGR); mean/std follow it. */
  channelOrder: z.enum(['rgb', 'bgr']).optional(),
});
export type PreprocessSpec = z.infer<typeof PreprocessSpecSchema>;
