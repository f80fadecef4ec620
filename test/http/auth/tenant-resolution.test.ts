import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../../src/errors.ts';
import { parseResolutionOrder, resolveTenant, subdomainTenant } from '../../../src/http/auth/tenant-resolution.ts';

describe('tenant resolution', () => {
  const order = parseResolutionOrder('path,header,subdomain');

  it('takes the first source in the configured order that names a tenant', () => {
    expect(resolveTenant({ pathTenant: 'acme', headerTenant: 'beta', host: 'gamma.rag.test' }, order, 'rag.test')).toEqual({ tenantId: 'acme', source: 'path' });
    expect(resolveTenant({ pathTenant: undefined, headerTenant: 'beta', host: 'gamma.rag.test' }, order, 'rag.test')).toEqual({ tenantId: 'beta', source: 'header' });
    expect(resolveTenant({ pathTenant: undefined, headerTenant: undefined, host: 'gamma.rag.test:8080' }, order, 'rag.test')).toEqual({ tenantId: 'gamma', source: 'subdomain' });
    expect(resolveTenant({ pathTenant: undefined, headerTenant: 'beta', host: 'gamma.rag.test' }, parseResolutionOrder('subdomain,header'), 'rag.test').tenantId).toBe('gamma');
  });

  it('validates whatever it resolves against the tenant-id pattern', () => {
    for (const bad of ['../etc', 'ACME', 'a/b', 'x'.repeat(64), 'é']) {
      expect(() => resolveTenant({ pathTenant: undefined, headerTenant: bad, host: undefined }, order)).toThrow(InvalidRequestError);
    }
  });

  it('fails clearly when no source names a tenant', () => {
    expect(() => resolveTenant({ pathTenant: undefined, headerTenant: undefined, host: 'rag.test' }, order, 'rag.test')).toThrow(/no tenant in the request/);
  });

  it('reads only one label directly under the base domain', () => {
    expect(subdomainTenant('acme.rag.test', 'rag.test')).toBe('acme');
    expect(subdomainTenant('ACME.RAG.TEST.', 'rag.test')).toBe('acme');
    expect(subdomainTenant('a.b.rag.test', 'rag.test')).toBeUndefined();
    expect(subdomainTenant('rag.test', 'rag.test')).toBeUndefined();
    expect(subdomainTenant('evilrag.test', 'rag.test')).toBeUndefined();
    expect(subdomainTenant('acme.rag.test', undefined)).toBeUndefined();
  });

  it('rejects unknown resolution modes', () => {
    expect(() => parseResolutionOrder('path,cookie')).toThrow(/TENANT_RESOLUTION/);
    expect(() => parseResolutionOrder('')).toThrow(/TENANT_RESOLUTION/);
    expect(parseResolutionOrder(' header , path,header')).toEqual(['header', 'path']);
  });
});
