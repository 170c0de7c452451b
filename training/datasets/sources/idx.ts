import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { EdgetuneError, errorMessage } from '../../../shared/errors.ts';
import type { SourceListing } from '../types.ts';
import { readDataFile, sortClassNames } from './common.ts';

interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/**
 * The IDX format of MNIST/Fashion-MNIST: 0x00 0x00, type 0x08 (unsigned byte), number of dims,
 * big-endian uint32 sizes, then the values. gzip is detected by its magic bytes.
 */
function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  let buf = bytes;
  if (buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = new Uint8Array(gunzipSync(buf));
    } catch (e) {
      throw new EdgetuneError('bad_request', `${file}: corrupt gzip data (${errorMessage(e)})`, { cause: e });
    }
  }
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0)
    throw new EdgetuneError('bad_request', `${file}: not an IDX file`);
  if (buf[2] !== 0x08) {
    throw new EdgetuneError(
      'bad_request',
      `${file}: IDX value type 0x${buf[2]!.toString(16)} unsupported (need unsigned bytes, 0x08)`,
    );
  }
  const ndims = buf[3]!;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 4 + 4 * ndims) throw new EdgetuneError('bad_request', `${file}: truncated IDX header`);
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i));
  const size = dims.reduce((a, b) => a * b, 1);
  const data = buf.subarray(4 + 4 * ndims);
  if (data.length !== size) {
    throw new EdgetuneError(
      'bad_request',
      `${file}: IDX header says ${dims.join('×')} = ${size} values, file has ${data.length}`,
    );
  }
  return { dims, data };
}

export async function listIdx(imagesFile: string, labelsFile: string, cwd: string): Promise<SourceListing> {
  const imagesPath = path.resolve(cwd, imagesFile);
  const labelsPath = path.resolve(cwd, labelsFile);
  const images = parseIdx(await readDataFile(imagesPath, 'IDX images'), imagesPath);
  const labels = parseIdx(await readDataFile(labelsPath, 'IDX labels'), labelsPath);
  const [n, height, width, channels = 1] = images.dims;
  if ((images.dims.length !== 3 && images.dims.length !== 4) || (channels !== 1 && channels !== 3)) {
    throw new EdgetuneError(
      'bad_request',
      `${imagesPath}: expected images of N×H×W or N×H×W×C (C = 1 or 3), got ${images.dims.join('×')}`,
    );
  }
  if (labels.dims.length !== 1 || labels.dims[0] !== n) {
    throw new EdgetuneError('bad_request', `${labelsPath}: ${labels.dims.join('×')} labels for ${n} images`);
  }
  const per = height! * width! * channels;
  const candidates: SourceListing['candidates'] = [];
  for (let i = 0; i < n!; i++) {
    candidates.push({
      className: String(labels.data[i]),
      source: `${path.basename(imagesPath)}#${i}`,
      load: () => ({
        width: width!,
        height: height!,
        channels: channels as 1 | 3,
        data: images.data.slice(i * per, (i + 1) * per),
      }),
    });
  }
  const name = path
    .basename(imagesPath)
    .replace(/(\.gz)?$/, '')
    .replace(/[-.]idx\d-ubyte$/, '');
  return { name, classes: sortClassNames(candidates.map((c) => c.className)), candidates, warnings: [] };
}
