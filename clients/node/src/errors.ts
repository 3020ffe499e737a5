// BrokerError: a failed broker call with the machine-readable ErrorDetail that
// the broker packs in the `grpc-status-details-bin` trailer (a RichStatus,
// wire-identical to google.rpc.Status, whose details hold an ErrorDetail).
import { Metadata, ServiceError, status } from "@grpc/grpc-js";
import { ErrorDetail, RichStatus } from "./generated/credbroker/v1/broker";

const ERROR_DETAIL_TYPE = "credbroker.v1.ErrorDetail";

/** Every reason the broker can answer (docs/api.md). */
export type BrokerReason =
  | "INVALID_REQUEST" | "UNKNOWN_SITE" | "INVALID_CREDENTIALS" | "INVALID_SECOND_FACTOR"
  | "CHALLENGE_NOT_FOUND" | "CHALLENGE_BUSY" | "APPROVAL_PENDING" | "SSO_REQUIRED" | "REFRESH_TOKEN_INVALID"
  | "SESSION_NOT_FOUND" | "INVALID_SCRIPT_KEY" | "CALLER_UNAUTHENTICATED" | "CALLER_NOT_ALLOWED"
  | "TOO_MANY_ATTEMPTS" | "TOO_MANY_REQUESTS" | "UPSTREAM_UNAVAILABLE" | "UPSTREAM_PROTOCOL_ERROR" | "STORE_UNAVAILABLE"
  | "NOT_IMPLEMENTED" | "INTERNAL";

export class BrokerError extends Error {
  /** The gRPC status code (a number of grpc-js's `status` enum). */
  readonly code: status;
  /** The status code's name, e.g. "UNAUTHENTICATED". */
  readonly codeName: string;
  /** ErrorDetail.reason, e.g. "INVALID_SECOND_FACTOR"; "" when the failure carried none
   *  (e.g. the broker could not be reached). */
  readonly reason: BrokerReason | "";
  /** For INVALID_SECOND_FACTOR: code attempts left on the challenge (0: the challenge is gone). */
  readonly attemptsLeft: number;
  /** For TOO_MANY_ATTEMPTS, UPSTREAM_UNAVAILABLE and APPROVAL_PENDING: seconds to wait, when the broker said. */
  readonly retryAfterSeconds: number | undefined;
  /** ErrorDetail.metadata. */
  readonly metadata: Readonly<Record<string, string>>;

  constructor(code: status, message: string, detail?: ErrorDetail) {
    super(message);
    this.name = "BrokerError";
    this.code = code;
    this.codeName = status[code] ?? String(code);
    this.reason = (detail?.reason ?? "") as BrokerReason | "";
    this.attemptsLeft = detail?.attemptsLeft ?? 0;
    const after = detail?.retryAfter;
    this.retryAfterSeconds =
      after && (after.seconds > 0 || after.nanos > 0) ? after.seconds + after.nanos / 1e9 : undefined;
    this.metadata = { ...(detail?.metadata ?? {}) };
  }

  /** True when the broker answered this reason. */
  is(reason: BrokerReason): boolean {
    return this.reason === reason;
  }

  /** Only UNAVAILABLE is safe to retry automatically. */
  get retryable(): boolean {
    return this.code === status.UNAVAILABLE;
  }
}

/** Decodes the ErrorDetail from a failed call's trailers; undefined when there is none. */
export function errorDetailFromMetadata(trailers: Metadata | undefined): ErrorDetail | undefined {
  const values = trailers?.get("grpc-status-details-bin") ?? [];
  for (const value of values) {
    if (typeof value === "string") continue;
    let rich: RichStatus;
    try {
      rich = RichStatus.decode(value);
    } catch {
      continue;
    }
    for (const any of rich.details) {
      if (any.typeUrl.slice(any.typeUrl.lastIndexOf("/") + 1) === ERROR_DETAIL_TYPE) {
        try {
          return ErrorDetail.decode(any.value);
        } catch {
          return undefined;
        }
      }
    }
  }
  return undefined;
}

/** Turns a grpc-js ServiceError into a BrokerError (other errors pass through). */
export function toBrokerError(error: unknown): unknown {
  if (error instanceof BrokerError) return error;
  const e = error as Partial<ServiceError> | undefined;
  if (!e || typeof e.code !== "number") return error;
  return new BrokerError(e.code, e.details || e.message || status[e.code], errorDetailFromMetadata(e.metadata));
}
