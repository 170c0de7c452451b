/** casUpdateJson against R2 through the Workers binding in workerd (miniflare honours onlyIf). */
import { env } from 'cloudflare:workers';
import { R2Store } from '../../shared/store/r2.ts';
import { describeCasContract } from '../node/store/cas-contract.ts';

describeCasContract('r2 (miniflare)', () => new R2Store(env.MODELS, { prefix: `cas-test-${Date.now()}` }), {
  conditionalWrites: true,
});
