import type { Command } from 'commander';
import { assertName } from '../../../shared/names.ts';
import { listModels, showModel } from '../../../shared/registry/models.ts';
import { requireManifest } from '../../../shared/registry/versions.ts';
import { printResult } from '../output.ts';
import { registerStats } from './models-stats.ts';
import { describeRouting, type StoreCommandOptions, storeFrom, withStoreOptions } from './store-options.ts';

export function register(program: Command): void {
  const models = program.command('models').description('inspect models in the registry');

  withStoreOptions(models.command('list').description('list models, their versions and routing')).action(
    async (options: StoreCommandOptions) => {
      const store = storeFrom(options);
      const list = await listModels(store);
      printResult(options, { store: store.url, models: list }, () =>
        list.length === 0
          ? `no models in ${store.url}`
          : list
              .map((m) => {
                const canary = m.candidates.map((c) => `${c.version}:${c.weight}%`).join(',');
                const parts = [
                  `${m.name}`,
                  `versions=${m.versions.length}`,
                  `latest=${m.latest ?? '-'}`,
                  `stable=${m.stable ?? '-'}`,
                ];
                if (canary) parts.push(`candidates=${canary}`);
                if (m.shadow) parts.push(`shadow=${m.shadow.version}@${m.shadow.sample}`);
                if (m.problem) parts.push(`PROBLEM: ${m.problem}`);
                return parts.join('  ');
              })
              .join('\n'),
      );
    },
  );

  withStoreOptions(
    models
      .command('show <name>')
      .description("show a model's versions and routing, or one version's manifest")
      .option('--version <v>', 'show the full manifest of this version'),
  ).action(async (name: string, options: StoreCommandOptions & { version?: string }) => {
    assertName('model', name);
    const store = storeFrom(options);
    if (options.version !== undefined) {
      const manifest = await requireManifest(store, name, assertName('version', options.version));
      printResult(options, manifest, () => JSON.stringify(manifest, null, 2));
      return;
    }
    const details = await showModel(store, name);
    printResult(options, details, () => {
      const lines = [`model ${name} in ${store.url}`];
      if (details.versions.length === 0) lines.push('no versions');
      for (const v of details.versions) {
        const metrics = Object.entries(v.metrics)
          .map(([k, x]) => `${k}=${Number(x.toFixed(4))}`)
          .join(' ');
        lines.push(
          `${v.version}  ${v.createdAt}  ${(v.size / 1e6).toFixed(2)} MB  ${v.sha256.slice(0, 12)}  ${metrics}`,
        );
      }
      lines.push(describeRouting(details.routing));
      return lines.join('\n');
    });
  });
  registerStats(models);
}
