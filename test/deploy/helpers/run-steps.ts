/**
 * Which RUN commands of the Dockerfile the host can perform for real. npm steps run (with the
 * local npm cache standing in for the Dockerfile's cache mount); OS setup steps that only make
 * sense inside the image (apt-get, users, ownership) are skipped by name; anything else is an
 * error, so a new RUN step cannot slip past the test unexamined.
 */

export type RunStep =
  | { readonly kind: 'npm'; readonly args: readonly string[] }
  | { readonly kind: 'os-setup'; readonly command: string };

const OS_SETUP = /^(apt-get|groupadd|useradd|mkdir|chown|chmod)(\s|$)|^rm -rf \/var\/lib\/apt\/lists(\/\*)?$/;
const NPM_ALLOWED = /^npm (ci|run [A-Za-z0-9:_-]+)(\s|$)/;

/** Splits `a && b && c` (no `;`, `||`, pipes or subshells: those are rejected). */
export function splitCommands(command: string): string[] {
  if (/[;|`]|\$\(/.test(command.replace(/&&/g, ''))) {
    throw new Error(`RUN ${command}: only "a && b" chains are supported here`);
  }
  return command.split('&&').map((part) => part.trim().replace(/\s+/g, ' '));
}

export function classifyRun(command: string): RunStep[] {
  return splitCommands(command).map((segment) => {
    if (NPM_ALLOWED.test(segment)) return { kind: 'npm', args: segment.split(' ').slice(1) };
    if (OS_SETUP.test(segment)) return { kind: 'os-setup', command: segment };
    throw new Error(`RUN step "${segment}" is neither an npm step nor known OS setup; teach test/deploy/helpers/run-steps.ts about it`);
  });
}
