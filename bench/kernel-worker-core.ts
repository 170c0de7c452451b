/**
 * The workerd side of the kernel microbenchmarks (bench/kernel-workerd.ts), free of Node APIs:
 * `/?module=NAME&shape=I&kind=K&reps=N` runs kernel call K of shape I on build NAME N times (the
 * caller reads the workerd process's CPU time around the request; workerd's own clock is wall
 * time, which a loaded machine inflates). One shape's operands are set up at a time.
 */
import type { KernelExports } from '../shared/engine/kernels.ts';

/** A shape's calls on one instance, operands in place; undefined for an unknown shape index. */
export type ShapeCalls = (k: KernelExports, shape: number) => Record<string, () => void> | undefined;

export function kernelWorker(
  modules: Record<string, WebAssembly.Module>,
  setup: ShapeCalls,
): (req: Request) => Response {
  const instances = new Map<string, KernelExports>();
  let current = '';
  let calls: Record<string, () => void> | undefined;
  return (req) => {
    const q = new URL(req.url).searchParams;
    const name = q.get('module') ?? '';
    const module = modules[name];
    const key = `${name}/${q.get('shape')}`;
    if (module && key !== current) {
      let k = instances.get(name);
      if (!k) {
        k = new WebAssembly.Instance(module, {}).exports as unknown as KernelExports;
        instances.set(name, k);
      }
      calls = setup(k, Number(q.get('shape')));
      current = key;
    }
    const run = module ? calls?.[q.get('kind') ?? ''] : undefined;
    if (!run) {
      current = '';
      return Response.json(
        { error: { code: 'bad_request', message: 'module, shape or kind' } },
        { status: 400 },
      );
    }
    const reps = Math.max(1, Number(q.get('reps') ?? '1'));
    for (let i = 0; i < reps; i++) run();
    return Response.json({ reps });
  };
}
