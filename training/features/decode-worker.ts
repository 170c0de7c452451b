/**
 * Body of a decode-pool worker thread: reads an image file, decodes it towards the model input
 * (shrink-on-load), writes the model's input tensor and sends it back (transferred, not copied).
 * The same functions as the in-memory path, so the pixels and tensors are identical.
 */
import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { EdgetuneError, errorMessage } from '../../shared/errors.ts';
import { writeImageTensor } from '../../shared/preprocess/tensor.ts';
import { decodeImageBytes } from '../datasets/sources/common.ts';
import { installNodeCodecs } from '../images/node-codecs.ts';
import type { DecodeRequest, DecodeResponse, DecodeWorkerInit } from './decode-protocol.ts';

const init = workerData as DecodeWorkerInit;
if (!parentPort) throw new Error('decode-worker.ts runs only as a worker thread');
const port = parentPort;
const itemSize = init.spec.channels * init.spec.height * init.spec.width;

async function handle(req: DecodeRequest): Promise<void> {
  const started = performance.now();
  try {
    const bytes = new Uint8Array(await readFile(req.path));
    await installNodeCodecs();
    const image = decodeImageBytes(req.path, bytes, init.target);
    const tensor = new Float32Array(itemSize);
    writeImageTensor(image, init.spec, tensor, 0);
    const res: DecodeResponse = {
      seq: req.seq,
      tensor,
      width: image.width,
      height: image.height,
      channels: image.channels,
      ms: performance.now() - started,
    };
    port.postMessage(res, [tensor.buffer]);
  } catch (e) {
    const code = e instanceof EdgetuneError ? e.code : 'invalid_image';
    const message =
      (e as NodeJS.ErrnoException).code === 'ENOENT'
        ? `cannot read image ${req.path}: ${errorMessage(e)}`
        : errorMessage(e);
    const res: DecodeResponse = { seq: req.seq, error: { code, message } };
    port.postMessage(res);
  }
}

// The pool hands over several files at once; they are decoded one after another, so each reply's
// `ms` is that file's own time and only one decoded picture exists at a time.
let queue = Promise.resolve();
port.on('message', (req: DecodeRequest) => {
  queue = queue.then(() => handle(req));
});
