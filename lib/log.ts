export type LogLevel = "debug" | "info" | "warn" | "error";

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
}

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * One JSON object per line on stdout, so `docker logs` and journald ship it
 * as-is to any log pipeline. `base` fields (instance, version) go on every line.
 *
 * @example
 * const log = createLogger("info", { instance: "cabify-app-1-8080" });
 * log.info("listening", { port: 8080 });
 */
export function createLogger(level: LogLevel, base: Fields = {}, write: (line: string) => void = (l) => process.stdout.write(l)): Logger {
  const emit = (at: LogLevel) => (msg: string, fields: Fields = {}) => {
    if (rank[at] < rank[level]) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level: at, msg, ...base, ...fields })}\n`);
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

/** The message of what caused `err` (fetch puts the socket error there), if any. */
function causeOf(err: unknown): string | undefined {
  return err instanceof Error && err.cause instanceof Error ? err.cause.message : undefined;
}

/** Turns any thrown value into something a log line can carry. */
export function errorFields(err: unknown): Fields {
  const error = err instanceof Error ? err.message : String(err);
  const cause = causeOf(err);
  return cause ? { error, cause } : { error };
}

/** The same in one line, for error messages: "fetch failed: connect ECONNREFUSED ...". */
export function errorMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const cause = causeOf(err);
  return cause ? `${message}: ${cause}` : message;
}
