import { EdgetuneError } from '../errors.ts';
import { sha256Hex } from '../store/digest.ts';
import { keys } from '../store/keys.ts';
import type { ObjectStore } from '../store/types.ts';

/** A file a manifest declares (the model, or its optimised graph), with what it must hash to. */
export interface DeclaredFile {
  file: string;
  sha256: string;
  size: number;
}

/**
 * The one check of a published file before anything runs it: present, the declared size, the
 * declared sha256. `bytes` is what the caller read (null when absent), wherever from: the edge
 * reads through its model source, training straight from the store.
 */
export async function verifyVersionFile(
  name: string,
  version: string,
  expected: DeclaredFile,
  bytes: Uint8Array | null,
): Promise<Uint8Array> {
  const { file } = expected;
  if (!bytes) {
    throw new EdgetuneError('corrupt', `${name}@${version}: ${file} is missing from the store`);
  }
  const actual = await sha256Hex(bytes);
  if (bytes.byteLength !== expected.size || actual !== expected.sha256) {
    throw new EdgetuneError(
      'checksum_mismatch',
      `${name}@${version} refused: ${file} has sha256 ${actual.slice(0, 12)}… (${bytes.byteLength} bytes), ` +
        `manifest says ${expected.sha256.slice(0, 12)}… (${expected.size} bytes)`,
    );
  }
  return bytes;
}

/** Reads a published file from a store and verifies it (see verifyVersionFile). */
export async function readVerifiedVersionFile(
  store: ObjectStore,
  name: string,
  version: string,
  expected: DeclaredFile,
): Promise<Uint8Array> {
  const obj = await store.get(keys.versionFile(name, version, expected.file));
  return verifyVersionFile(name, version, expected, obj?.body ?? null);
}
