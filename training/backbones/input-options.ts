/**
 * How a plain ONNX backbone or classifier wants its input, as the user states it on the command
 * line (`--preprocess`, `--mean`, `--std`, `--layout`, `--channels`, `--input-size`): one schema
 * for `train`, `backbone import` and `import-model`, also stored in training recipes.
 */
import { z } from 'zod';
import { EdgetuneError } from '../../shared/errors.ts';
import { PRESET_NAMES, type PreprocessPreset } from '../../shared/preprocess/presets.ts';

export const InputOptionsSchema = z.object({
  preset: z.enum(PRESET_NAMES as [PreprocessPreset, ...PreprocessPreset[]]).optional(),
  mean: z.array(z.number().finite()).min(1).max(3).optional(),
  std: z
    .array(
      z
        .number()
        .finite()
        .refine((v) => v !== 0, 'std values must be non-zero'),
    )
    .min(1)
    .max(3)
    .optional(),
  layout: z.enum(['nchw', 'nhwc']).optional(),
  channels: z.enum(['rgb', 'bgr']).optional(),
  inputSize: z
    .object({ height: z.number().int().min(1).max(4096), width: z.number().int().min(1).max(4096) })
    .optional(),
});
export type InputOptions = z.infer<typeof InputOptionsSchema>;

export function hasInputOptions(o: InputOptions | undefined): o is InputOptions {
  return !!o && Object.values(o).some((v) => v !== undefined);
}

const numbers = (flag: string) =>
  z
    .string()
    .transform((s, ctx) => {
      const values = s.split(',').map((x) => Number(x.trim()));
      if (
        values.length === 0 ||
        values.some((v) => !Number.isFinite(v)) ||
        (values.length !== 1 && values.length !== 3)
      ) {
        ctx.addIssue({
          code: 'custom',
          message: `${flag} takes one number or three (r,g,b), e.g. ${flag} 0.5`,
        });
        return z.NEVER;
      }
      return values;
    })
    .optional();

/** The CLI's raw strings (commander) → InputOptions. */
export const InputFlagsSchema = z
  .object({
    preprocess: z
      .string()
      .refine((s): s is PreprocessPreset => (PRESET_NAMES as string[]).includes(s), {
        message: `--preprocess must be one of ${PRESET_NAMES.join(', ')}`,
      })
      .optional(),
    mean: numbers('--mean'),
    std: numbers('--std'),
    layout: z
      .string()
      .transform((s) => s.toLowerCase())
      .pipe(z.enum(['nchw', 'nhwc'], { message: '--layout must be nchw or nhwc' }))
      .optional(),
    channels: z
      .string()
      .transform((s) => s.toLowerCase())
      .pipe(z.enum(['rgb', 'bgr'], { message: '--channels must be rgb or bgr' }))
      .optional(),
    inputSize: z
      .string()
      .regex(/^\d+x\d+$/i, '--input-size takes HxW, e.g. 224x224')
      .transform((s) => {
        const [height, width] = s.toLowerCase().split('x').map(Number) as [number, number];
        return { height, width };
      })
      .optional(),
  })
  .passthrough();

/** Parses the preprocessing flags out of a commander options object. */
export function inputOptionsFromFlags(raw: unknown): InputOptions {
  const r = InputFlagsSchema.safeParse(raw);
  if (!r.success)
    throw new EdgetuneError('bad_request', r.error.issues[0]?.message ?? 'bad preprocessing flags');
  const f = r.data;
  const parsed = InputOptionsSchema.safeParse({
    preset: f.preprocess,
    mean: f.mean,
    std: f.std,
    layout: f.layout,
    channels: f.channels,
    inputSize: f.inputSize,
  });
  if (!parsed.success)
    throw new EdgetuneError('bad_request', parsed.error.issues[0]?.message ?? 'bad preprocessing flags');
  return parsed.data;
}

/** Adds the preprocessing flags to a commander command. */
export function addInputFlags<T extends { option(flags: string, description: string): T }>(cmd: T): T {
  return cmd
    .option('--preprocess <preset>', `input convention: ${PRESET_NAMES.join(', ')} (ONNX files)`)
    .option('--mean <m|r,g,b>', 'per-channel mean subtracted after scaling (overrides the preset)')
    .option('--std <s|r,g,b>', 'per-channel std divided by (overrides the preset)')
    .option('--layout <nchw|nhwc>', "the graph input's layout (default: read from its shape)")
    .option('--channels <rgb|bgr>', 'channel order the model reads (default rgb; caffe preset: bgr)')
    .option('--input-size <HxW>', 'input size for a graph with dynamic height/width');
}
