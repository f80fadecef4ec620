/**
 * Where a worker thread's entry module is and how to start it. Under tsx (npm start, tests) the
 * entry is TypeScript and needs the same loader; once compiled (dist/, the container image) it is
 * plain JavaScript. `name` is relative to `from` (the caller's `import.meta.url`), without extension.
 */
export function workerEntry(name: string, from: string): { url: URL; execArgv: string[] } {
  const compiled = from.endsWith('.js');
  const url = new URL(`${name}${compiled ? '.js' : '.ts'}`, from);
  return { url, execArgv: compiled ? [] : ['--import', import.meta.resolve('tsx')] };
}
