import type { SkippedFile } from '../sources/document-source.ts';
import type { DesiredTenant } from './desired-tenants.ts';
import { indexFingerprint, type TenantConfig } from './tenant-config.ts';

/**
 * A tenant's state is derived, never stored: it follows from what KV wants (DesiredTenant) and what
 * this pod has (the serving index, a build under way, the last failure). Keeping it a pure function
 * means the status endpoint, readiness and the reconciler can never disagree.
 */
export type TenantState = 'building' | 'ready' | 'failed' | 'config_error' | 'inactive';

/** What is serving queries right now. */
export interface ServingIndexInfo {
  readonly version: string;
  readonly fingerprint: string;
  /** The CreateIndex of the KV key it was built for (see DesiredTenant.createIndex). */
  readonly incarnation: number;
  readonly documents: number;
  readonly chunks: number;
  readonly skippedFiles: number;
  /** The first skipped files with their reasons, so the status says which files and why. */
  readonly skippedSample: readonly SkippedFile[];
  readonly buildMs: number;
  readonly loadedAt: string;
}

export interface BuildAttempt {
  readonly version: string;
  readonly fingerprint: string;
  /** The CreateIndex of the KV key the attempt is for: a re-created tenant never matches an old attempt. */
  readonly incarnation: number;
}

export interface BuildFailure extends BuildAttempt {
  readonly code: string;
  readonly message: string;
  readonly permanent: boolean;
  readonly at: string;
}

export interface TenantRuntime {
  readonly serving: ServingIndexInfo | undefined;
  readonly building: BuildAttempt | undefined;
  readonly lastFailure: BuildFailure | undefined;
}

export interface TenantStatus {
  readonly tenant_id: string;
  readonly state: TenantState;
  readonly serving_version: string | null;
  readonly desired_version: string | null;
  readonly modify_index: number;
  readonly documents: number | null;
  readonly chunks: number | null;
  readonly skipped_files: number | null;
  readonly skipped_sample: SkippedFile[];
  readonly last_build_ms: number | null;
  readonly last_error: { readonly code: string; readonly message: string; readonly at?: string } | null;
  readonly loaded_at: string | null;
  readonly warnings: string[];
}

export function sameAttempt(a: BuildAttempt | undefined, b: BuildAttempt | undefined): boolean {
  return !!a && !!b && a.version === b.version && a.fingerprint === b.fingerprint && a.incarnation === b.incarnation;
}

export function attemptFor(config: TenantConfig, incarnation: number): BuildAttempt {
  return { version: config.version, fingerprint: indexFingerprint(config), incarnation };
}

/**
 * What of this pod's runtime belongs to the tenant KV describes now. Anything left from an earlier
 * incarnation of the same id (deleted, then written again) is another tenant's and never shows,
 * serves or counts as a failure of this one.
 */
export function runtimeOfIncarnation(runtime: TenantRuntime, incarnation: number): TenantRuntime {
  const mine = <T extends { readonly incarnation: number }>(part: T | undefined) => (part?.incarnation === incarnation ? part : undefined);
  return { serving: mine(runtime.serving), building: mine(runtime.building), lastFailure: mine(runtime.lastFailure) };
}

export function deriveTenantState(desired: DesiredTenant, runtime: TenantRuntime): TenantState {
  if (desired.error) return 'config_error';
  const target = desired.config;
  if (!target) return 'config_error';
  if (target.status === 'inactive') return 'inactive';
  if (runtime.serving?.version === target.version) return 'ready';
  if (runtime.building) return 'building';
  if (runtime.lastFailure?.version === target.version) return 'failed';
  return 'building';
}

/** What the status shows next to the state: things an operator should fix but that do not stop serving. */
export function tenantWarnings(desired: DesiredTenant, runtime: TenantRuntime): string[] {
  const warnings: string[] = [];
  const target = desired.config;
  if (desired.error && runtime.serving) {
    warnings.push(`config in KV is invalid; still serving version ${runtime.serving.version}`);
  }
  if (target && runtime.serving && runtime.serving.version === target.version && runtime.serving.fingerprint !== indexFingerprint(target)) {
    warnings.push(
      `data_source, index_params or embedding_model changed without a version bump; the index was not rebuilt (bump "version" to apply)`,
    );
  }
  if (target && runtime.lastFailure && runtime.serving && runtime.lastFailure.version === target.version) {
    warnings.push(`build of version ${target.version} failed; still serving version ${runtime.serving.version}`);
  }
  return warnings;
}

export function tenantStatus(desired: DesiredTenant, slotRuntime: TenantRuntime): TenantStatus {
  const runtime = runtimeOfIncarnation(slotRuntime, desired.createIndex);
  const serving = runtime.serving;
  const failure = runtime.lastFailure;
  const lastError = desired.error
    ? { code: desired.error.code, message: desired.error.message }
    : failure && failure.version === desired.config?.version
      ? { code: failure.code, message: failure.message, at: failure.at }
      : null;
  return {
    tenant_id: desired.tenantId,
    state: deriveTenantState(desired, runtime),
    serving_version: serving?.version ?? null,
    desired_version: desired.config?.version ?? null,
    modify_index: desired.modifyIndex,
    documents: serving?.documents ?? null,
    chunks: serving?.chunks ?? null,
    skipped_files: serving?.skippedFiles ?? null,
    skipped_sample: serving ? [...serving.skippedSample] : [],
    last_build_ms: serving?.buildMs ?? null,
    last_error: lastError,
    loaded_at: serving?.loadedAt ?? null,
    warnings: tenantWarnings(desired, runtime),
  };
}
