/**
 * Helpers for the `edgetune serve` end-to-end tests: stores seeded with real ONNX exports whose
 * labels name their store (so every answer shows where it came from), a spawned `serve` process
 * found through the URL it prints, and snapshots of a store's objects.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { publishVersion } from '../../../shared/registry/publish.ts';
import { rollout, setShadow } from '../../../shared/routing/operations.ts';
import type { ObjectStore } from '../../../shared/store/types.ts';
import { EDGE_LABELS, EDGE_SEEDS, edgeExport } from '../../../bench/edge-models.ts';
import { CLI_BIN, REPO_ROOT } from '../cli-helper.ts';

export const ADMIN_TOKEN = 'admin-token-for-tests';

export interface SeededModel {
  name: string;
  versions: string[];
  /** Versions the routing sends traffic to (stable, candidates, shadow). */
  routed: string[];
}

/**
 * Three models, the same names in every store, with different weights and labels per store:
 * `shared` (v1 stable, v2 a 30 % candidate), `single` (v1), `shadowed` (v1 stable, v2 shadow).
 */
export async function seedStore(store: ObjectStore, tag: string, seedOffset: number): Promise<SeededModel[]> {
  const labels = EDGE_LABELS.map((l) => `${tag}-${l}`);
  const publish = async (name: string, seed: number) => {
    const exp = edgeExport(seed + seedOffset);
    await publishVersion(store, name, { manifest: { ...exp.manifest, name, labels }, files: exp.files });
  };
  await publish('shared', EDGE_SEEDS[0]!);
  await publish('shared', EDGE_SEEDS[1]!);
  await rollout(store, 'shared', 'v2', 30);
  await publish('single', EDGE_SEEDS[2]!);
  await publish('shadowed', EDGE_SEEDS[0]!);
  await publish('shadowed', EDGE_SEEDS[1]!);
  await setShadow(store, 'shadowed', 'v2', 0.5);
  return [
    { name: 'shared', versions: ['v1', 'v2'], routed: ['v1', 'v2'] },
    { name: 'single', versions: ['v1'], routed: ['v1'] },
    { name: 'shadowed', versions: ['v1', 'v2'], routed: ['v1', 'v2'] },
  ];
}

/** Every object's sha256, by key. */
export async function contents(store: ObjectStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const o of (await store.list('')).objects) {
    const got = await store.get(o.key);
    if (got) out.set(o.key, createHash('sha256').update(got.body).digest('hex'));
  }
  return out;
}

export interface ServeProcess {
  url: URL;
  child: ChildProcess;
  stderr(): string;
  /** Sends `signal` and resolves with the exit code once the process has exited (deadline 60 s). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `edgetune serve --store <url> --port 0 --json`, resolved once it printed its URL. */
export function spawnServe(
  storeUrl: string,
  env: Record<string, string>,
  extra: string[] = [],
): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    [CLI_BIN, 'serve', '--store', storeUrl, '--port', '0', '--json', '--admin-token', ADMIN_TOKEN, ...extra],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, EDGETUNE_STORE: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve printed no URL within 240 s; stderr: ${err.slice(-2000)}`));
    }, 240_000);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code}) before printing its URL; stderr: ${err.slice(-2000)}`));
    });
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      let printed: { url: string; ready: boolean };
      try {
        printed = JSON.parse(out) as { url: string; ready: boolean };
      } catch {
        return; // not the whole JSON object yet
      }
      clearTimeout(timer);
      resolve({
        url: new URL(printed.url),
        child,
        stderr: () => err,
        async stop(signal = 'SIGTERM') {
          if (child.exitCode !== null) return child.exitCode;
          child.kill(signal);
          const deadline = new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000).unref());
          const code = await Promise.race([exited, deadline]);
          if (code === 'hung') {
            child.kill('SIGKILL');
            throw new Error(`serve ignored ${signal} for 60 s; stderr: ${err.slice(-2000)}`);
          }
          return code;
        },
      });
    });
  });
}
