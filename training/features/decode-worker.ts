/**
 * Body of a decode-pool worker thread: reads an image file, decodes it towards the model input
 * (shrink-on-load), writes the model's input tensor and sends it back (transferred, not copied).
 * The same functions as the in-memory path, so the pixels and tensors are identical. Files are
 * decoded one after another (serveTasks), so each reply's `ms` is that file's own time and only
 * one decoded picture exists at a time.
 */
import { readFile } from 'node:fs/promises';
import { EdgetuneError, errorMessage } from '../../shared/errors.ts';
import { writeImageTensor } from '../../shared/preprocess/tensor.ts';
import { decodeImageBytes } from '../datasets/sources/common.ts';
import { installNodeCodecs } from '../images/node-codecs.ts';
import { serveTasks } from '../workers/serve-tasks.ts';
import type { DecodeRequest, DecodeResponse, DecodeWorkerInit } from './decode-protocol.ts';

serveTasks<DecodeWorkerInit, DecodeRequest, DecodeResponse>(async (req, init) => {
  const started = performance.now();
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(req.path));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    throw new EdgetuneError('invalid_image', `cannot read image ${req.path}: ${errorMessage(e)}`);
  }
  await installNodeCodecs();
  const image = decodeImageBytes(req.path, bytes, init.target);
  const tensor = new Float32Array(init.spec.channels * init.spec.height * init.spec.width);
  writeImageTensor(image, init.spec, tensor, 0);
  const res: DecodeResponse = {
    tensor,
    width: image.width,
    height: image.height,
    channels: image.channels,
    ms: performance.now() - started,
  };
  return { res, transfer: [tensor.buffer] };
}, 'invalid_image');
