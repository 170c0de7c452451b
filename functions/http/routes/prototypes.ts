/**
 * `POST /admin/models/{name}/prototypes`: a new classifier version from a few labelled images,
 * built in the Worker (functions/http/prototype/create.ts). Mounted under the admin router, so it
 * needs the Bearer ADMIN_TOKEN and the body limit like every admin route.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../../runtime/env.ts';
import { createPrototypeVersion } from '../prototype/create.ts';
import { readPrototypeRequest } from '../prototype/request.ts';
import { getServices } from '../../runtime/services.ts';
import { modelParam } from './params.ts';

export const prototypes = new Hono<AppEnv>();

prototypes.post('/models/:name/prototypes', async (c) => {
  const name = modelParam(c);
  const req = await readPrototypeRequest(c.req.raw);
  const created = await createPrototypeVersion(getServices(c), c.var.backends, name, req);
  return c.json(created, 201);
});
