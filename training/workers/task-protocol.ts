/** Messages between a TaskPool and its worker threads. */
import type { ErrorCode } from '../../shared/errors.ts';

export interface TaskWorkerData {
  /** URL of the worker body module. */
  module: string;
  init: unknown;
}

export interface TaskRequest {
  seq: number;
  req: unknown;
}

export type TaskReply<Res> =
  | { seq: number; res: Res; error?: undefined }
  | { seq: number; res?: undefined; error: { code: ErrorCode; message: string } };
