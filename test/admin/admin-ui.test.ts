import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcessIndexBuilder, type IndexBuilder } from '../../src/indexing/index-builder.ts';
import { ConsulKvClient } from '../../src/kv/consul-kv-client.ts';
import { EmbeddedKvServer } from '../../src/kv/kv-server.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { tenantConfigKey } from '../../src/tenants/desired-tenants.ts';
import { PREFIX, testSettings } from '../helpers/stack.ts';
import { backgroundOf, launchBrowser, screenshot } from './browser.ts';

/**
 * The admin UI and the tenant search page in a real browser against a real service: one operator
 * story from sign-in to delete, with a second writer going behind the operator's back.
 */
const TOKEN = 'browser-test-token-0123456789';
const HANDBOOK = 'examples/acme-handbook';

/** Builds of `shop` take a moment, so the list visibly shows `building` before `ready`. */
const builder: IndexBuilder = {
  async build(request, signal) {
    if (request.tenantId === 'shop') await new Promise((resolve) => setTimeout(resolve, 1_200));
    return inProcessIndexBuilder.build(request, signal);
  },
};

let kv: EmbeddedKvServer;
let kvClient: ConsulKvClient;
let service: RunningService;
let dataDir: string;
let browser: Browser;
let page: Page;

async function kvConfig(tenant: string): Promise<any> {
  const { value } = await kvClient.get(tenantConfigKey(PREFIX, tenant));
  return value ? JSON.parse(value.value!) : undefined;
}

const row = (tenant: string) => page.locator(`tr[data-tenant="${tenant}"]`);

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'ragswap-ui-'));
  kv = await EmbeddedKvServer.start({ port: 0, dataDir });
  kvClient = new ConsulKvClient({ address: kv.address });
  service = await startService({ settings: testSettings({ consulAddress: kv.address, adminToken: TOKEN }), builder });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  // Fail within the test's own timeout, with Playwright's message about what it waited for.
  page.setDefaultTimeout(10_000);
});

afterAll(async () => {
  await browser?.close();
  await service?.close();
  await kv?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('admin UI', () => {
  it('refuses a wrong token, then signs in', async () => {
    await page.goto(`${service.url}/admin/`);
    await page.getByLabel('Admin token').fill('wrong-token-0123456789');
    await page.getByRole('button', { name: 'Sign in' }).click();
    // The first refresh answers 401 and the UI returns to the sign-in form.
    await expect.poll(() => page.getByLabel('Admin token').isVisible(), { timeout: 5_000 }).toBe(true);

    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByLabel(/Your name/).fill('alice');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Tenants' }).waitFor();
  });

  it('creates a tenant: inline validation errors, a diff, then building → ready', async () => {
    await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Create tenant' }).click();
    await page.getByLabel('Tenant id').fill('shop');
    await page.getByLabel('Folder').fill(HANDBOOK);
    await page.getByLabel('Chunk size').fill('128');
    await page.getByLabel('Chunk overlap').fill('300');
    await page.getByLabel('Primary color').fill('red');
    await page.getByRole('button', { name: 'Review changes' }).click();

    await page.locator('.field.invalid').first().waitFor();
    expect(await page.locator('.field.invalid label').allTextContents()).toEqual(['Chunk overlap', 'Primary color']);
    await expect.poll(() => page.getByText('must be a CSS hex color such as #1f6feb').isVisible()).toBe(true);
    await expect.poll(() => page.getByText('must be less than chunk_size (128)').isVisible()).toBe(true);
    await screenshot(page, '01-create-validation-errors');
    expect(await kvConfig('shop')).toBeUndefined();

    await page.getByLabel('Chunk overlap').fill('16');
    await page.getByLabel('Primary color').fill('#aa0000');
    await page.getByRole('button', { name: 'Review changes' }).click();
    const diff = page.getByLabel('changes: old config to new config');
    await diff.waitFor();
    expect(await diff.textContent()).toContain('+     "primary_color": "#aa0000"');
    await screenshot(page, '02-create-review-diff');
    await page.getByRole('button', { name: 'Save' }).click();

    await page.getByRole('status').filter({ hasText: 'Created shop' }).waitFor();
    expect(await kvConfig('shop')).toEqual({
      version: 'v1',
      data_source: { type: 'fs', path: HANDBOOK },
      index_params: { chunk_size: 128, chunk_overlap: 16 },
      status: 'active',
      theme: { primary_color: '#aa0000' },
    });
    await row('shop').getByTestId('state').filter({ hasText: 'building' }).waitFor({ timeout: 5_000 });
    await screenshot(page, '03-list-building');
    await row('shop').getByTestId('state').filter({ hasText: 'ready' }).waitFor({ timeout: 15_000 });
    expect(await row('shop').textContent()).toMatch(/v1 \(ready\)/);
    await screenshot(page, '04-list-ready');
  });

  it('edits and saves', async () => {
    await row('shop').getByRole('link', { name: 'Edit' }).click();
    await page.getByLabel('Version').fill('v2');
    await page.getByRole('button', { name: 'Review changes' }).click();
    const diff = await page.getByLabel('changes: old config to new config').textContent();
    expect(diff).toContain('-   "version": "v1"');
    expect(diff).toContain('+   "version": "v2"');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved shop' }).waitFor();
    expect((await kvConfig('shop')).version).toBe('v2');
    await row('shop').filter({ hasText: 'v2 (ready)' }).waitFor({ timeout: 15_000 });
  });

  it('shows theirs vs yours on a conflict, and keeping mine saves over theirs', async () => {
    await row('shop').getByRole('link', { name: 'Edit' }).click();
    await page.getByLabel('Version').waitFor();
    // Another operator saves while this one is editing.
    const theirs = { ...(await kvConfig('shop')), embedding_model: 'hash' };
    expect(await kvClient.put(tenantConfigKey(PREFIX, 'shop'), JSON.stringify(theirs))).toBe(true);

    await page.getByLabel('Version').fill('v3');
    await page.getByRole('button', { name: 'Review changes' }).click();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: 'Someone else changed shop' }).waitFor();
    expect(await page.getByLabel('their config', { exact: true }).textContent()).toContain('"embedding_model": "hash"');
    expect(await page.getByLabel('your config', { exact: true }).textContent()).toContain('"version": "v3"');
    await screenshot(page, '05-conflict');
    expect(await kvConfig('shop')).toEqual(theirs);

    await page.getByRole('button', { name: 'Keep mine (review over theirs)' }).click();
    expect(await page.getByLabel('changes: old config to new config').textContent()).toContain('-   "embedding_model": "hash"');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved shop' }).waitFor();
    const saved = await kvConfig('shop');
    expect(saved.version).toBe('v3');
    expect(saved.embedding_model).toBeUndefined();
  });

  it('reindexes, deactivates and activates from the list', async () => {
    await row('shop').filter({ hasText: 'v3 (ready)' }).waitFor({ timeout: 15_000 });
    await row('shop').getByRole('button', { name: 'Reindex' }).click();
    await page.getByRole('status').filter({ hasText: 'Reindex of shop: v3 → v4' }).waitFor();
    expect((await kvConfig('shop')).version).toBe('v4');
    await row('shop').filter({ hasText: 'v4 (ready)' }).waitFor({ timeout: 15_000 });

    await row('shop').getByRole('button', { name: 'Deactivate' }).click();
    await row('shop').getByTestId('state').filter({ hasText: 'inactive' }).waitFor();
    expect((await kvConfig('shop')).status).toBe('inactive');
    await row('shop').getByRole('button', { name: 'Activate' }).click();
    await row('shop').getByTestId('state').filter({ hasText: 'ready' }).waitFor({ timeout: 15_000 });
    expect((await kvConfig('shop')).status).toBe('active');
  });

  it('lists every write in the audit log, newest first', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.locator('table.audit tbody tr').first().waitFor();
    const actions = await page.locator('table.audit tbody tr').evaluateAll((rows) => rows.map((tr) => tr.getAttribute('data-action')));
    // Newest first: activate, deactivate, reindex, conflict resolution, edit, create (the hand-made KV write is not an admin write).
    expect(actions).toEqual(['update', 'update', 'reindex', 'update', 'update', 'create']);
    expect(await page.locator('table.audit tbody tr').first().textContent()).toContain('alice');
    await page.locator('table.audit details').nth(2).locator('summary').click();
    await screenshot(page, '06-audit-log');
  });

  it('filters the list by id and to the tenants that need attention', async () => {
    await page.getByRole('link', { name: 'Tenants' }).click();
    // Written by hand, as a platform team's script would: one healthy tenant, one whose folder is missing.
    const fsConfig = (folder: string) => JSON.stringify({ version: 'v1', data_source: { type: 'fs', path: folder } });
    expect(await kvClient.put(tenantConfigKey(PREFIX, 'shop-eu'), fsConfig('test/fixtures/documents'))).toBe(true);
    expect(await kvClient.put(tenantConfigKey(PREFIX, 'broken'), fsConfig('examples/no-such-folder'))).toBe(true);
    await row('broken').getByTestId('state').filter({ hasText: 'failed' }).waitFor({ timeout: 15_000 });
    await row('shop-eu').getByTestId('state').filter({ hasText: 'ready' }).waitFor({ timeout: 15_000 });
    await page.getByText('3 tenants: 2 ready, 1 failed').waitFor();
    // The fixture folder holds files that cannot become text: the row says which, and why.
    await row('shop-eu').getByText(/^\d+ files skipped$/).click();
    expect(await row('shop-eu').locator('details.skipped li').filter({ hasText: 'image.png' }).textContent()).toMatch(/image\.png: unsupported type/);

    await page.getByLabel('Filter by id').fill('SHOP');
    await row('broken').waitFor({ state: 'detached' });
    expect(await page.locator('tr[data-tenant]').evaluateAll((rows) => rows.map((tr) => tr.getAttribute('data-tenant')))).toEqual(['shop', 'shop-eu']);
    await page.getByText('— showing 2').waitFor();

    await page.getByLabel('Filter by id').fill('');
    await page.getByLabel('Only tenants that need attention').check();
    await row('shop').waitFor({ state: 'detached' });
    expect(await page.locator('tr[data-tenant]').evaluateAll((rows) => rows.map((tr) => tr.getAttribute('data-tenant')))).toEqual(['broken']);
    await screenshot(page, '07-list-needs-attention');
    await page.getByLabel('Filter by id').fill('shop');
    await page.getByText('No tenant matches the filter.').waitFor();

    await page.getByLabel('Filter by id').fill('');
    await page.getByLabel('Only tenants that need attention').uncheck();
    for (const id of ['shop-eu', 'broken']) expect(await kvClient.delete(tenantConfigKey(PREFIX, id))).toBe(true);
    await row('broken').waitFor({ state: 'detached' });
    await row('shop-eu').waitFor({ state: 'detached' });
    await row('shop').waitFor();
  });

  it('deletes only after the tenant id is typed', async () => {
    await page.getByRole('link', { name: 'Tenants' }).click();
    await row('shop').getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    const confirm = dialog.getByRole('button', { name: 'Delete' });
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel(/Type/).fill('sho');
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel(/Type/).fill('shop');
    await screenshot(page, '08-delete-confirm');
    await confirm.click();
    await page.getByRole('status').filter({ hasText: 'Deleted shop' }).waitFor();
    await row('shop').waitFor({ state: 'detached' });
    expect(await kvConfig('shop')).toBeUndefined();
  });
});

describe('tenant search page', () => {
  const themed = (primary: string) => ({
    version: 'v1',
    data_source: { type: 'fs', path: HANDBOOK },
    index_params: { chunk_size: 128, chunk_overlap: 16 },
    theme: { primary_color: primary, secondary_color: '#fff8f0', font_color: '#222222', logo_url: 'data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSI0MCIgaGVpZ2h0PSI0MCI+PGNpcmNsZSBjeD0iMjAiIGN5PSIyMCIgcj0iMTgiIGZpbGw9IndoaXRlIi8+PC9zdmc+' },
  });

  it('is themed from KV and answers with sources; a theme change shows on the next load', async () => {
    expect(await kvClient.put(tenantConfigKey(PREFIX, 'brand'), JSON.stringify(themed('#aa0000')))).toBe(true);
    const search = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    try {
      await search.goto(`${service.url}/t/brand`);
      await search.getByRole('heading', { name: 'brand' }).waitFor();
      const headerColor = () => backgroundOf(search.locator('header.brand'));
      await expect.poll(headerColor).toBe('rgb(170, 0, 0)');
      expect(await search.locator('header.brand img').getAttribute('src')).toMatch(/^data:image\/svg\+xml;base64,/);

      // The first build may still run; the page shows the 503 message, the next ask succeeds.
      await expect
        .poll(
          async () => {
            await search.getByLabel('Your question').fill('How many vacation days do employees get?');
            await search.getByRole('button', { name: 'Ask' }).click();
            await search.locator('.answer, .error').first().waitFor();
            return search.locator('.answer').isVisible();
          },
          { timeout: 15_000, interval: 200 },
        )
        .toBe(true);
      expect(await search.locator('.response').textContent()).toContain('25 days of paid vacation');
      expect(await search.locator('.sources li').count()).toBeGreaterThan(0);
      expect(await search.locator('.sources li').first().textContent()).toContain('file://vacation-policy.md');
      expect(await backgroundOf(search.getByRole('button', { name: 'Ask' }))).toBe('rgb(170, 0, 0)');
      await screenshot(search, '08-search-page');

      const { value } = await kvClient.get(tenantConfigKey(PREFIX, 'brand'));
      expect(await kvClient.put(tenantConfigKey(PREFIX, 'brand'), JSON.stringify(themed('#006400')), { cas: value!.modifyIndex })).toBe(true);
      await expect
        .poll(
          async () => {
            await search.reload();
            await search.getByRole('heading', { name: 'brand' }).waitFor();
            return headerColor();
          },
          { timeout: 5_000, interval: 100 },
        )
        .toBe('rgb(0, 100, 0)');
    } finally {
      await search.close();
    }
  });

  it('says so for an unknown tenant', async () => {
    const search = await browser.newPage();
    try {
      await search.goto(`${service.url}/t/nobody`);
      await search.getByRole('alert').filter({ hasText: 'There is no knowledge base called “nobody”.' }).waitFor();
    } finally {
      await search.close();
    }
  });
});
