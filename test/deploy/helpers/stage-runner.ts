/**
 * Performs a Dockerfile stage's filesystem steps on the host, in a folder standing for the stage's
 * root filesystem: WORKDIR, ENV, COPY (from the build context, honouring .dockerignore, or from an
 * earlier stage's folder) and RUN, which is handed to a caller-supplied executor that decides
 * which commands it can honestly perform here. Metadata instructions are recorded, not acted on.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { execForm, expandVariables, parseKeyValues, type Instruction, type Stage } from './dockerfile.ts';
import { isExcluded, type IgnoreRule } from './dockerignore.ts';

export interface StageState {
  /** Host folder standing for the stage's `/`. */
  readonly root: string;
  /** Container path of the current WORKDIR. */
  workdir: string;
  readonly env: Record<string, string>;
}

export interface RunRequest {
  readonly command: string;
  /** Host folder of the WORKDIR. */
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly instruction: Instruction;
}

export interface StageContext {
  readonly contextDir: string;
  readonly ignore: readonly IgnoreRule[];
  /** Host roots of the stages already performed, by name. */
  readonly stageRoots: ReadonlyMap<string, string>;
  readonly run: (request: RunRequest) => void;
}

/** Host path of a container path inside a stage root. */
export function hostPath(root: string, containerPath: string): string {
  return path.join(root, path.posix.resolve('/', containerPath));
}

function contextFiles(contextDir: string, relative: string, ignore: readonly IgnoreRule[]): string[] {
  const absolute = path.join(contextDir, relative);
  if (!existsSync(absolute)) return [];
  if (!statSync(absolute).isDirectory()) return isExcluded(relative, ignore) ? [] : [relative];
  return readdirSync(absolute).flatMap((entry) => contextFiles(contextDir, `${relative}/${entry}`, ignore));
}

function copy(state: StageState, instruction: Instruction, context: StageContext): void {
  const parts = execForm(instruction.args) ?? instruction.args.split(/\s+/);
  const dest = parts[parts.length - 1] ?? '';
  const sources = parts.slice(0, -1).map((s) => expandVariables(s, state.env));
  const destContainer = path.posix.resolve(state.workdir, dest);
  const destIsDir = dest.endsWith('/') || sources.length > 1;
  const from = instruction.flags.from;
  for (const source of sources) {
    if (from !== undefined) {
      const fromRoot = context.stageRoots.get(from);
      if (!fromRoot) throw new Error(`line ${instruction.line}: COPY --from=${from}: no such earlier stage`);
      const src = hostPath(fromRoot, source);
      if (!existsSync(src)) throw new Error(`line ${instruction.line}: COPY --from=${from} ${source}: not found in that stage`);
      const target = destIsDir && !statSync(src).isDirectory() ? path.posix.join(destContainer, path.posix.basename(source)) : destContainer;
      cpSync(src, hostPath(state.root, target), { recursive: true });
      continue;
    }
    const relative = path.posix.normalize(source).replace(/^\.?\/*/, '').replace(/\/+$/, '');
    const files = contextFiles(context.contextDir, relative, context.ignore);
    if (files.length === 0) {
      throw new Error(`line ${instruction.line}: COPY ${source}: not in the build context (missing, or excluded by .dockerignore)`);
    }
    const isDir = statSync(path.join(context.contextDir, relative)).isDirectory();
    for (const file of files) {
      const inside = isDir ? file.slice(relative.length + 1) : path.posix.basename(file);
      const target = isDir || destIsDir ? path.posix.join(destContainer, inside) : destContainer;
      mkdirSync(path.dirname(hostPath(state.root, target)), { recursive: true });
      cpSync(path.join(context.contextDir, file), hostPath(state.root, target));
    }
  }
}

/** Performs one stage into `root`; returns the state after its last instruction. */
export function performStage(stage: Stage, root: string, context: StageContext): StageState {
  const state: StageState = { root, workdir: '/', env: {} };
  mkdirSync(root, { recursive: true });
  for (const instruction of stage.instructions) {
    switch (instruction.keyword) {
      case 'WORKDIR':
        state.workdir = path.posix.resolve(state.workdir, expandVariables(instruction.args, state.env));
        mkdirSync(hostPath(root, state.workdir), { recursive: true });
        break;
      case 'ENV':
        Object.assign(state.env, parseKeyValues(instruction.args));
        break;
      case 'COPY':
        copy(state, instruction, context);
        break;
      case 'ADD':
        throw new Error(`line ${instruction.line}: ADD is not supported here; use COPY`);
      case 'RUN':
        context.run({ command: instruction.args, cwd: hostPath(root, state.workdir), env: { ...state.env }, instruction });
        break;
      default:
        // ARG, LABEL, USER, EXPOSE, HEALTHCHECK, ENTRYPOINT, CMD, ...: image metadata.
        break;
    }
  }
  return state;
}
