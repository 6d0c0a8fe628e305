// Minimal types for benchmark@2 (it ships none): only what the benches use.
declare module 'benchmark' {
  namespace Benchmark {
    interface Options {
      maxTime?: number;
      minSamples?: number;
    }
    interface Target {
      name: string;
      hz: number;
      error?: unknown;
      stats: { rme: number; sample: number[] };
    }
    class Suite {
      constructor(name?: string);
      add(name: string, fn: () => void, options?: Options): this;
      on(event: 'cycle', listener: (event: { target: Target }) => void): this;
      run(options?: { async?: boolean }): this;
    }
    const version: string;
    const platform: { description: string };
  }
  export = Benchmark;
}
