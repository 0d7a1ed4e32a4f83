// One collector of teardown steps for suites and benchmarks that cannot use a test's own `after`
// (a shared tracker for a whole file, a benchmark's processes): steps run newest first, each one
// even if an earlier one failed; the first failure is reported.

export interface TeardownStack {
  after(fn: () => unknown): void;
  runAll(): Promise<void>;
}

export function teardownStack(onError: (err: unknown) => void = () => {}): TeardownStack {
  const fns: (() => unknown)[] = [];
  return {
    after: (fn) => void fns.push(fn),
    async runAll() {
      while (fns.length) {
        try {
          await fns.pop()!();
        } catch (err) {
          onError(err);
        }
      }
    },
  };
}
