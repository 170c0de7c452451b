/**
 * One error type for the whole project. `code` is stable and machine-readable; `status` is the
 * HTTP status the edge answers with (4xx = the caller's mistake, 5xx = ours). The CLI prints
 * `message` on one line and exits non-zero.
 */
export type ErrorCode =
  | 'bad_request'
  | 'invalid_name'
  | 'invalid_image'
  | 'image_too_large'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'quota_exceeded'
  | 'invalid_tensor'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'precondition_failed'
  | 'corrupt'
  | 'checksum_mismatch'
  | 'unsupported'
  | 'parity_failed'
  | 'not_ready'
  | 'needs_full_build'
  | 'internal';

const defaultStatus: Record<ErrorCode, number> = {
  bad_request: 400,
  invalid_name: 400,
  invalid_image: 400,
  image_too_large: 413,
  unsupported_media_type: 415,
  payload_too_large: 413,
  quota_exceeded: 429,
  invalid_tensor: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  precondition_failed: 412,
  corrupt: 500,
  checksum_mismatch: 500,
  unsupported: 400,
  parity_failed: 500,
  not_ready: 503,
  // The request is fine but this Worker build cannot run the version: deploy the other build.
  needs_full_build: 422,
  internal: 500,
};

export class EdgetuneError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, message: string, options?: { status?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EdgetuneError';
    this.code = code;
    this.status = options?.status ?? defaultStatus[code];
  }

  toJSON(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export function isEdgetuneError(e: unknown): e is EdgetuneError {
  return e instanceof EdgetuneError;
}

/** A readable one-line message for any thrown value. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n')[0] ?? String(e);
  return String(e);
}
