/** What a backend reports of itself: up or not, which engine, and why not (for operators only). */
export interface BackendHealth {
  ok: boolean;
  kind: string;
  detail?: string;
}

/** A long-lived resource under the daemon's lifecycle. */
export interface Lifecycle {
  start(): Promise<void>;
  close(): Promise<void>;
  health(): Promise<BackendHealth>;
}
