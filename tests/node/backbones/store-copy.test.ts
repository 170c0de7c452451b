import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keys } from '../../../shared/store/keys.ts';
import { localBackbone, uploadBackbone } from '../../../training/backbones/store-copy.ts';
import { FileStore } from '../../../shared/store/node/file.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-store-copy-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A backbone file with a pretrain-style `.tfjs` sidecar (contents are opaque to the copy). */
function backboneFile(name: string): { file: string; bytes: Uint8Array } {
  const file = path.join(dir, 'machine-a', `${name}.onnx`);
  fs.mkdirSync(`${file}.tfjs`, { recursive: true });
  const bytes = new Uint8Array(4096).map((_, i) => (i * 31 + name.charCodeAt(1)) & 255);
  fs.writeFileSync(file, bytes);
  fs.writeFileSync(path.join(`${file}.tfjs`, 'model.json'), '{"format":"layers-model"}');
  fs.writeFileSync(path.join(`${file}.tfjs`, 'group1-shard1of1.bin'), new Uint8Array([1, 2, 3]));
  return { file, bytes };
}

describe('backbones in the store (retraining on another machine)', () => {
  const store = new FileStore(path.join(dir, 'store'));

  it('uploads once, and a machine without the file gets a verified copy with its sidecar', async () => {
    const { file, bytes } = backboneFile('b1');
    const digest = sha(bytes);
    expect(await uploadBackbone(store, file, digest)).toBe('uploaded');
    expect(await uploadBackbone(store, file, digest)).toBe('present');
    expect((await store.get(keys.backboneFile(digest, 'model.onnx')))?.body).toEqual(bytes);

    const recipe = { backbone: file, backboneSha256: digest };
    const cache = path.join(dir, 'machine-b-cache');
    // Still on this machine: used where it is.
    expect(await localBackbone(store, recipe, cache)).toBe(file);
    // "Another machine": the file is gone.
    fs.rmSync(file);
    fs.rmSync(`${file}.tfjs`, { recursive: true });
    const logs: string[] = [];
    const got = await localBackbone(store, recipe, cache, (m) => logs.push(m));
    expect(got.startsWith(path.join(cache, 'backbones'))).toBe(true);
    expect(sha(fs.readFileSync(got))).toBe(digest);
    expect(fs.readFileSync(path.join(`${got}.tfjs`, 'model.json'), 'utf8')).toBe('{"format":"layers-model"}');
    expect([...fs.readFileSync(path.join(`${got}.tfjs`, 'group1-shard1of1.bin'))]).toEqual([1, 2, 3]);
    expect(logs.join('\n')).toMatch(/not on this machine: using the store's copy backbones\//);
    // Cached from then on.
    expect(await localBackbone(store, recipe, cache)).toBe(got);
  });

  it('a local file that changed since training is not trusted; nothing usable leaves the source as is', async () => {
    const { file, bytes } = backboneFile('b2');
    const digest = sha(bytes);
    fs.writeFileSync(file, new Uint8Array([9, 9, 9]));
    expect(await uploadBackbone(store, file, digest)).toBe('missing');
    expect(await localBackbone(store, { backbone: file, backboneSha256: digest }, path.join(dir, 'c'))).toBe(
      file,
    );
    expect(await uploadBackbone(store, 'nsfwjs:MobileNetV2', digest)).toBe('not-a-file');
  });

  it('refuses a store copy whose bytes do not match the sha256', async () => {
    const { file, bytes } = backboneFile('b3');
    const digest = sha(bytes);
    await store.put(keys.backboneFile(digest, 'model.onnx'), new Uint8Array([0]));
    fs.rmSync(file);
    await expect(
      localBackbone(store, { backbone: file, backboneSha256: digest }, path.join(dir, 'd')),
    ).rejects.toThrow(/does not match its sha256/);
  });
});
