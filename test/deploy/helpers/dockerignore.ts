/**
 * .dockerignore matching as BuildKit applies it: patterns are globs over context-relative paths
 * (`*` and `?` stay within one path segment, `**` spans any number of them), a path is excluded
 * when a pattern matches it or one of its parent directories, `!` re-includes, and the last
 * matching pattern wins.
 */

export interface IgnoreRule {
  readonly source: string;
  readonly negated: boolean;
  readonly pattern: RegExp;
}

export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i += 1) {
    const c = glob[i] ?? '';
    if (c === '*' && glob[i + 1] === '*') {
      const slashAfter = glob[i + 2] === '/';
      out += slashAfter ? '(?:.*/)?' : '.*';
      i += slashAfter ? 2 : 1;
    } else if (c === '*') {
      out += '[^/]*';
    } else if (c === '?') {
      out += '[^/]';
    } else {
      out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${out}$`);
}

export function parseDockerignore(text: string): IgnoreRule[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negated = line.startsWith('!');
      const glob = (negated ? line.slice(1) : line).trim().replace(/^\/+/, '').replace(/\/+$/, '');
      return { source: line, negated, pattern: globToRegExp(glob) };
    });
}

/** True when the context-relative path (forward slashes) is left out of the build context. */
export function isExcluded(relativePath: string, rules: readonly IgnoreRule[]): boolean {
  const segments = relativePath.split('/');
  const candidates = segments.map((_, i) => segments.slice(0, i + 1).join('/'));
  let excluded = false;
  for (const rule of rules) {
    if (candidates.some((c) => rule.pattern.test(c))) excluded = !rule.negated;
  }
  return excluded;
}
