import { describe, expect, it } from 'vitest';
import { DEFAULT_SITE_LANGUAGES, DeviceConfigSnapshot, type DeviceConfigSnapshotInput } from '../../core/config-snapshot.js';
import { describeIssues } from '../../core/errors.js';

/**
 * `site.languages` in the config snapshot (core/config-snapshot.ts): the kiosk screen's languages,
 * added without a version bump. Snapshots without it (every one before) stay valid and mean the
 * default; a bad list is refused naming the field.
 */

const snapshot = (site: Record<string, unknown> = {}): DeviceConfigSnapshotInput =>
  ({
    version: 3,
    issuedAt: '2026-11-24T01:00:00.000Z',
    deviceId: 'gw-1',
    site: { id: 'mk-01', name: 'Mong Kok', timeZone: 'Asia/Hong_Kong', ...site },
    roster: [],
  }) as DeviceConfigSnapshotInput;

describe('site languages in the config snapshot', () => {
  it('is optional: a snapshot as the dashboard sent it before still parses, and says nothing', () => {
    const parsed = DeviceConfigSnapshot.parse(snapshot());
    expect(parsed.site).toEqual({ id: 'mk-01', name: 'Mong Kok', timeZone: 'Asia/Hong_Kong' });
    expect(DEFAULT_SITE_LANGUAGES).toEqual(['en', 'zh-HK']);
  });

  it('takes one or both languages, in the order the site wants them', () => {
    for (const languages of [['en'], ['zh-HK'], ['en', 'zh-HK'], ['zh-HK', 'en']]) {
      expect(DeviceConfigSnapshot.parse(snapshot({ languages })).site.languages).toEqual(languages);
    }
  });

  it('refuses an empty list, an unknown language and a language twice, naming the field', () => {
    for (const languages of [[], ['fr'], ['zh-CN'], ['en', 'en'], 'en', ['en', 'zh-HK', 'en']]) {
      const result = DeviceConfigSnapshot.safeParse(snapshot({ languages }));
      expect(result.success, JSON.stringify(languages)).toBe(false);
      if (!result.success) expect(describeIssues(result.error).join('; ')).toMatch(/^site\.languages/);
    }
  });
});
