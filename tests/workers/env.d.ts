/// <reference types="@cloudflare/vitest-pool-workers/types" />
// Types for `exports` from 'cloudflare:workers' inside the workers test project.
declare namespace Cloudflare {
  interface GlobalProps {
    mainModule: typeof import('../../functions/index.ts');
  }
}
