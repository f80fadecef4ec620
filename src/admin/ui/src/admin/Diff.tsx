import type { DiffLine } from '../shared/diff.ts';

const MARK = { same: ' ', add: '+', del: '-' } as const;

/** A unified diff; additions and deletions carry a text marker too, not colour alone. */
export function Diff({ lines, label }: { lines: readonly DiffLine[]; label: string }) {
  return (
    <pre className="diff" aria-label={label}>
      {lines.map((line, index) => (
        <div key={index} className={`diff-${line.kind}`}>
          {MARK[line.kind]} {line.text}
        </div>
      ))}
    </pre>
  );
}
