import type { Command } from 'commander';
import { assertName } from '../../../shared/names.ts';
import { publishExportDir } from '../../registry/publish-dir.ts';
import { log, printResult } from '../output.ts';
import { type StoreCommandOptions, storeFrom, withStoreOptions } from './store-options.ts';

export function register(program: Command): void {
  withStoreOptions(
    program
      .command('publish <name> <export-dir>')
      .description('publish an export (manifest.json + model.onnx) as the next version of <name>'),
  ).action(async (name: string, dir: string, options: StoreCommandOptions) => {
    assertName('model', name);
    const store = storeFrom(options);
    const result = await publishExportDir(store, name, dir, { onProgress: options.json ? undefined : log });
    // With --json the warnings travel in the JSON (stderr stays quiet, like the progress lines).
    if (!options.json) for (const w of result.warnings) log(w);
    printResult(
      options,
      {
        name: result.name,
        version: result.version,
        sha256: result.manifest.model.sha256,
        size: result.manifest.model.size,
        madeStable: result.madeStable,
        attempts: result.attempts,
        skipped: result.skipped,
        warnings: result.warnings,
        store: store.url,
      },
      () =>
        `published ${result.name} ${result.version} (${result.manifest.model.size} bytes, sha256 ${result.manifest.model.sha256.slice(0, 12)})` +
        (result.madeStable ? `; ${result.version} is now stable` : ''),
    );
  });
}
