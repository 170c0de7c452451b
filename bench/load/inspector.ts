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
}

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
    const proto = (await this.send('Runtime.evaluate', {
      expression: 'WebAssembly.Memory.prototype',
      contextId: this.contextId,
    })) as {
      result: { objectId: string };
    };
    const live = (await this.send('Runtime.queryObjects', { prototypeObjectId: proto.result.objectId })) as {
      objects: { objectId: string };
    };
    const sum = (await this.send('Runtime.callFunctionOn', {
      objectId: live.objects.objectId,
      functionDeclaration:
        'function () { return JSON.stringify([this.length, this.reduce((s, m) => s + m.buffer.byteLength, 0)]); }',
      returnByValue: true,
    })) as { result: { value: string } };
    const [count, bytes] = JSON.parse(sum.result.value) as [number, number];
    const usage = await this.send('Runtime.getHeapUsage');
    await this.send('Runtime.releaseObjectGroup', { objectGroup: '' }).catch(() => undefined);
    return { jsHeapBytes: Number(usage.usedSize), wasmHeapBytes: bytes, wasmMemories: count };
  }

  close(): void {
    this.socket.close();
  }
}
