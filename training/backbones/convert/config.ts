/** zod pieces for the tfjs (camelCase) layer configs that several layer families share. */
import { z } from 'zod';

/** A 2-tuple given as one number or a pair, normalised to a pair. */
export const Pair = z
  .union([z.number().int().positive(), z.array(z.number().int().positive()).length(2)])
  .transform((v): [number, number] => (Array.isArray(v) ? [v[0], v[1]] : [v, v]));

/** Only channels-last is converted: the layout rule of the converter assumes it. */
export const ChannelsLast = z
  .enum(['channelsLast', 'channels_last'], { message: "only data_format 'channels_last' is supported" })
  .optional();

export const Padding = z.enum(['same', 'valid'], { message: "padding must be 'same' or 'valid'" });

/** tfjs serialises activations by class name ('relu', 'hardSigmoid', 'gelu_new', ...). */
export const ActivationName = z.string().default('linear');
