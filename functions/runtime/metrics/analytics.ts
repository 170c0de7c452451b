/**
 * The Analytics Engine data point of one request. Column order is the contract with the SQL
 * queries in the README: keep it append-only.
 *   index1 = model (the sampling key)
 *   blob1 model, blob2 version, blob3 endpoint, blob4 route reason, blob5 engine
 *   double1 status, double2 total ms, double3 load ms, double4 preprocess ms, double5 inference ms
 */
import type { RequestEvent } from '../../../shared/metrics/schema.ts';

export function analyticsDataPoint(e: RequestEvent): AnalyticsEngineDataPoint {
  return {
    indexes: [e.model],
    blobs: [e.model, e.version ?? '', e.endpoint, e.reason ?? '', e.engine ?? ''],
    doubles: [e.status, e.totalMs, e.loadMs ?? -1, e.preprocessMs ?? -1, e.inferenceMs ?? -1],
  };
}
