// One log line per notable thing, to stderr, as `time level message key=value ...`. Callers pass
// only names, addresses and codes: never a token, authKey, key blob or request body.

export type LogLevel = 'info' | 'warn' | 'error';
export type Logger = (level: LogLevel, message: string, fields?: Record<string, string | number | boolean | undefined>) => void;

export const stderrLogger: Logger = (level, message, fields = {}) => {
  const extra = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : v}`)
    .join(' ');
  process.stderr.write(`${new Date().toISOString()} ${level} ${message}${extra ? ' ' + extra : ''}\n`);
};
