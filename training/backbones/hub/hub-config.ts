/**
 * What a hub repository says about its model's input, the transformers.js convention:
 * `preprocessor_config.json` (image_mean, image_std, size / crop_size, do_normalize,
 * do_rescale + rescale_factor) and `config.json` (id2label, image_size). Fields the user gave as
 * flags always win; the files only fill the gaps. Values that do not make sense are ignored with
 * a warning instead of silently producing a wrong preprocessing.
 */
import { z } from 'zod';
import type { InputOptions } from '../input-options.ts';

const Triple = z.union([z.number(), z.array(z.number()).min(1).max(3)]);
const Size = z.union([
  z.number().int().positive(),
  z.object({ height: z.number().int().positive(), width: z.number().int().positive() }).passthrough(),
  z.object({ shortest_edge: z.number().int().positive() }).passthrough(),
]);

const PreprocessorSchema = z
  .object({
    image_mean: Triple.optional(),
    image_std: Triple.optional(),
    do_normalize: z.boolean().optional(),
    do_rescale: z.boolean().optional(),
    rescale_factor: z.number().optional(),
    size: Size.optional(),
    crop_size: Size.optional(),
    do_center_crop: z.boolean().optional(),
  })
  .passthrough();

const ConfigSchema = z
  .object({
    id2label: z.record(z.string(), z.string()).optional(),
    image_size: z.number().int().positive().optional(),
  })
  .passthrough();

export interface HubModelConfig {
  input: InputOptions;
  labels?: string[];
  warnings: string[];
  /** Which files contributed (for messages). */
  from: string[];
}

function parseJson(bytes: Uint8Array | undefined): unknown {
  if (!bytes) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

const triple = (v: number | number[]) => (typeof v === 'number' ? [v] : v);

function sizeOf(s: z.infer<typeof Size> | undefined): InputOptions['inputSize'] {
  if (s === undefined) return undefined;
  if (typeof s === 'number') return { height: s, width: s };
  if ('height' in s && typeof s.height === 'number' && typeof s.width === 'number')
    return { height: s.height, width: s.width };
  if ('shortest_edge' in s && typeof s.shortest_edge === 'number')
    return { height: s.shortest_edge, width: s.shortest_edge };
  return undefined;
}

/** Reads the two optional files (bytes as downloaded, undefined when the repository lacks one). */
export function readHubConfig(files: { preprocessor?: Uint8Array; config?: Uint8Array }): HubModelConfig {
  const warnings: string[] = [];
  const from: string[] = [];
  const input: InputOptions = {};
  let labels: string[] | undefined;

  const pre = parseJson(files.preprocessor);
  if (pre !== undefined) {
    const p = PreprocessorSchema.safeParse(pre);
    if (!p.success) {
      warnings.push('preprocessor_config.json is not a valid preprocessor config: ignored');
    } else {
      from.push('preprocessor_config.json');
      const c = p.data;
      const rescaled = c.do_rescale !== false && Math.abs((c.rescale_factor ?? 1 / 255) - 1 / 255) < 1e-9;
      if (!rescaled) {
        warnings.push(
          'preprocessor_config.json does not rescale by 1/255: its mean/std are not used (pass --preprocess/--mean/--std)',
        );
      } else if (c.do_normalize !== false && c.image_mean && c.image_std) {
        input.mean = triple(c.image_mean);
        input.std = triple(c.image_std);
      } else {
        input.preset = 'unit';
      }
      // A center crop is what the model sees; without one, the resize target.
      input.inputSize = sizeOf(c.do_center_crop !== false ? (c.crop_size ?? c.size) : c.size);
    }
  }
  const cfg = parseJson(files.config);
  if (cfg !== undefined) {
    const c = ConfigSchema.safeParse(cfg);
    if (!c.success) {
      warnings.push('config.json could not be read: ignored');
    } else {
      from.push('config.json');
      if (c.data.id2label) {
        const entries = Object.entries(c.data.id2label).map(([k, v]) => [Number(k), v] as const);
        const dense =
          entries.length > 0 && entries.every(([k]) => Number.isInteger(k) && k >= 0 && k < entries.length);
        if (dense) labels = entries.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
      }
      if (!input.inputSize && c.data.image_size)
        input.inputSize = { height: c.data.image_size, width: c.data.image_size };
    }
  }
  return { input, labels, warnings, from };
}

/** The user's flags, with the repository's values filling only what the user left out. */
export function mergeInputOptions(user: InputOptions, hub: InputOptions): InputOptions {
  const userSetsValues = user.preset !== undefined || user.mean !== undefined || user.std !== undefined;
  return {
    ...(userSetsValues ? {} : { preset: hub.preset, mean: hub.mean, std: hub.std }),
    ...Object.fromEntries(Object.entries(user).filter(([, v]) => v !== undefined)),
    inputSize: user.inputSize ?? hub.inputSize,
  };
}
