/**
 * Heap readings of the Worker's isolate through the V8 inspector (Chrome DevTools Protocol), the
 * same numbers DevTools shows. `Runtime.queryObjects` collects garbage and then walks the live
 * heap for every WebAssembly.Memory: memory of released sessions that was collected does not
 * count, memory that leaked does; the JS heap is read right after that collection. (workerd never
 * answers HeapProfiler.collectGarbage, and evaluates only in the Worker's own context.)
 */
import type { Miniflare } from 'miniflare';
import WebSocket from 'ws';

export interface HeapReading {
  /** V8 JS heap in use after GC (bytes). */
  jsHeapBytes: number;
  /** Sum of byteLength over live WebAssembly.Memory objects (bytes). */
  wasmHeapBytes: number;
  wasmMemories: number;
  /**
   * Who holds each live memory: exported by an engine kernel instance (the instance's exports
   * include `gemm`), exported by another live instance (the image codecs), or exported by none
   * (onnxruntime-web's glue creates its heap and imports it into its instance).
   */
  byOwner: { engineKernels: number; otherInstances: number; notExported: number };
}

/** The object group of one reading's remote objects, released when the reading is done. */
const GROUP = 'edgetune-heap-reading';

/** Runs in the isolate on the array of live memories, given the array of live instances. */
const OWNERS = `function (instances) {
  const owner = new Map();
  for (const i of instances)
    for (const v of Object.values(i.exports))
      if (v instanceof WebAssembly.Memory) owner.set(v, 'gemm' in i.exports ? 'engine' : 'other');
  const bytes = this.reduce((s, m) => s + m.buffer.byteLength, 0);
  const engine = this.filter((m) => owner.get(m) === 'engine').length;
  const other = this.filter((m) => owner.get(m) === 'other').length;
  return JSON.stringify([this.length, bytes, engine, other]);
}`;

interface CdpReply {
  id?: number;
  result?: Record<string, unknown>;
  error?: { message: string };
}

export class IsolateInspector {
  private nextId = 1;
  private readonly waiting = new Map<number, (r: CdpReply) => void>();
  private contextId: number | null = null;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const msg = JSON.parse(String(data)) as CdpReply & {
        method?: string;
        params?: { context?: { id: number } };
      };
      if (msg.id !== undefined) this.waiting.get(msg.id)?.(msg);
      else if (msg.method === 'Runtime.executionContextCreated')
        this.contextId = msg.params?.context?.id ?? null;
    });
  }

  static async connect(mf: Miniflare, workerName: string): Promise<IsolateInspector> {
    // Miniflare gives the proxy's ws:// address; its target list is served over http.
    const list = new URL('/json', await mf.getInspectorURL());
    list.protocol = 'http:';
    const targets = (await (await fetch(list)).json()) as {
      id: string;
      webSocketDebuggerUrl: string;
    }[];
    const target = targets.find((t) => t.id === `core:user:${workerName}`) ?? targets[0];
    if (!target) throw new Error(`no inspector target for worker ${workerName}`);
    const socket = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const inspector = new IsolateInspector(socket);
    await inspector.send('Runtime.enable');
    return inspector;
  }

  private send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`inspector ${method}: no answer in 60 s`)), 60_000);
      this.waiting.set(id, (r) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        if (r.error) reject(new Error(`inspector ${method}: ${r.error.message}`));
        else resolve(r.result ?? {});
      });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  async read(): Promise<HeapReading> {
    if (this.contextId === null) throw new Error('the Worker announced no execution context');
    try {
      const memories = await this.liveObjects('WebAssembly.Memory');
      const instances = await this.liveObjects('WebAssembly.Instance');
      const sum = (await this.send('Runtime.callFunctionOn', {
        objectId: memories,
        functionDeclaration: OWNERS,
        arguments: [{ objectId: instances }],
        returnByValue: true,
      })) as { result: { value: string } };
      const [count, bytes, engineKernels, otherInstances] = JSON.parse(sum.result.value) as number[];
      const usage = await this.send('Runtime.getHeapUsage');
      return {
        jsHeapBytes: Number(usage.usedSize),
        wasmHeapBytes: bytes!,
        wasmMemories: count!,
        byOwner: {
          engineKernels: engineKernels!,
          otherInstances: otherInstances!,
          notExported: count! - engineKernels! - otherInstances!,
        },
      };
    } finally {
      // The inspector holds every object it handed out until its group is released, and a held
      // array of memories keeps them all alive: readings that leaked their arrays made the memories
      // of sessions live at "start" and "warm" look live at the end (1–2 more than accounted for).
      await this.send('Runtime.releaseObjectGroup', { objectGroup: GROUP }).catch(() => undefined);
    }
  }

  /** An array (remote object id) of every live object of `ctor`, after a garbage collection. */
  private async liveObjects(ctor: string): Promise<string> {
    const proto = (await this.send('Runtime.evaluate', {
      expression: `${ctor}.prototype`,
      contextId: this.contextId,
      objectGroup: GROUP,
    })) as { result: { objectId: string } };
    const live = (await this.send('Runtime.queryObjects', {
      prototypeObjectId: proto.result.objectId,
      objectGroup: GROUP,
    })) as { objects: { objectId: string } };
    return live.objects.objectId;
  }

  close(): void {
    this.socket.close();
  }
}
