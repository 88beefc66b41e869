import * as os from 'os';
import * as path from 'path';
import { MAX_OWNER_LENGTH, MAX_PATH_RESOURCE_LENGTH, MAX_RESOURCE_NAME_LENGTH, checkBreakReason, checkLeaseOwner, defaultLeaseOwner, parseResource, resourceFromId, resourcesConflict } from './resource';

describe('parseResource', () => {
  it('accepts the four namespaces and keeps names other than paths as written', () => {
    expect(parseResource('package:@acme/api')).toEqual({ namespace: 'package', name: '@acme/api', id: 'package:@acme/api' });
    expect(parseResource(' group:release ')).toEqual({ namespace: 'group', name: 'release', id: 'group:release' });
    expect(parseResource('repo:main')).toEqual({ namespace: 'repo', name: 'main', id: 'repo:main' });
    // Only the first colon separates: names may contain colons.
    expect(parseResource('group:a:b').name).toBe('a:b');
  });

  it('refuses an unknown namespace, a missing one, or an empty name with EBADRESOURCE and a hint', () => {
    for (const text of ['foo:x', 'x', ':x', 'package:', 'path:  ', '', 'Package:x']) {
      expect(() => parseResource(text)).toThrow(expect.objectContaining({ code: 'EBADRESOURCE', hint: expect.stringContaining('package:') }));
    }
    expect(() => parseResource('foo:x')).toThrow(/Unknown resource namespace 'foo:'/);
  });

  it('resolves path: names against cwd to a normalised absolute posix path', () => {
    expect(parseResource('path:dist/app/', { cwd: '/w' }).id).toBe('path:/w/dist/app');
    expect(parseResource('path:./dist/../dist/app', { cwd: '/w' }).name).toBe('/w/dist/app');
    expect(parseResource('path:/abs/x', { cwd: '/w' }).name).toBe('/abs/x');
    expect(parseResource('path:.', { cwd: os.tmpdir() }).name).toBe(path.resolve(os.tmpdir()).split(path.sep).join('/'));
  });

  it('stores path: names relative to root when one is given, and refuses paths outside it', () => {
    expect(parseResource('path:dist/app', { cwd: '/repo/apps', root: '/repo' }).id).toBe('path:apps/dist/app');
    expect(parseResource('path:/repo/dist', { cwd: '/elsewhere', root: '/repo' }).id).toBe('path:dist');
    expect(parseResource('path:.', { cwd: '/repo', root: '/repo' }).id).toBe('path:.');
    for (const outside of ['path:..', 'path:/etc', 'path:../repo-other/x']) {
      expect(() => parseResource(outside, { cwd: '/repo', root: '/repo' })).toThrow(expect.objectContaining({ code: 'EBADRESOURCE', message: expect.stringContaining('outside the repository') }));
    }
  });

  it('reads stored ids back without resolving them again', () => {
    expect(resourceFromId('path:dist/app')).toEqual({ namespace: 'path', name: 'dist/app', id: 'path:dist/app' });
    expect(() => resourceFromId('moon:x')).toThrow(expect.objectContaining({ code: 'EBADRESOURCE' }));
  });
});

describe('parseResource limits', () => {
  const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

  it('refuses control characters (C0, C1, DEL) and bidi controls with EBADRESOURCE, showing them escaped', () => {
    for (const text of ['package:a\x1b[2Jb', 'group:x\x00', 'repo:\x7f', 'package:\x9b1m', 'group:evil\u202eexe', 'path:dist\u2066', 'package:a\nb']) {
      let error: any;
      try {
        parseResource(text, { cwd: '/w' });
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'EBADRESOURCE', message: expect.stringContaining('control characters'), hint: expect.stringContaining('printable') });
      expect(error.message).not.toMatch(RAW_CONTROL);
    }
  });

  it(`limits the name to ${MAX_RESOURCE_NAME_LENGTH} characters (path: ${MAX_PATH_RESOURCE_LENGTH} once resolved), and never echoes a huge one`, () => {
    expect(parseResource(`package:${'a'.repeat(MAX_RESOURCE_NAME_LENGTH)}`).name).toHaveLength(MAX_RESOURCE_NAME_LENGTH);
    for (const text of [`package:${'a'.repeat(MAX_RESOURCE_NAME_LENGTH + 1)}`, `group:${'g'.repeat(10_000)}`, `path:${'d/'.repeat(600)}`, `${'x'.repeat(10_000)}`]) {
      let error: any;
      try {
        parseResource(text, { cwd: '/w' });
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'EBADRESOURCE', message: expect.stringContaining('too long'), hint: expect.stringContaining(String(MAX_RESOURCE_NAME_LENGTH)) });
      expect(error.message.length).toBeLessThan(200);
    }
    expect(parseResource(`path:${'d/'.repeat(400)}`, { cwd: '/w' }).name.length).toBeLessThanOrEqual(MAX_PATH_RESOURCE_LENGTH);
  });
});

describe('checkLeaseOwner and checkBreakReason', () => {
  it(`accept short printable owners; refuse empty, control characters, more than ${MAX_OWNER_LENGTH} characters (EBADOPTIONS)`, () => {
    for (const owner of ['ci@runner-3', 'Zoë@東京', 'o'.repeat(MAX_OWNER_LENGTH)]) expect(checkLeaseOwner(owner)).toBe(owner);
    for (const owner of ['', ' ', 'a\x1b[2J', 'x\u202e', 'o'.repeat(MAX_OWNER_LENGTH + 1), 42]) {
      expect(() => checkLeaseOwner(owner)).toThrow(expect.objectContaining({ code: 'EBADOPTIONS', hint: expect.any(String) }));
    }
    expect(() => defaultLeaseOwner({ LOCKSTEP_OWNER: 'evil\x1b[2J' })).toThrow(expect.objectContaining({ code: 'EBADOPTIONS', message: expect.stringContaining('LOCKSTEP_OWNER') }));
    expect(() => defaultLeaseOwner({}, 'x'.repeat(10_000))).toThrow(expect.objectContaining({ code: 'EBADOPTIONS', message: expect.stringContaining('too long') }));
  });

  it('a break needs a printable reason', () => {
    expect(checkBreakReason(' runner died ')).toBe('runner died');
    for (const reason of [undefined, '', '  ', 'a\x1b[2J', 'r'.repeat(2000)]) expect(() => checkBreakReason(reason)).toThrow(expect.objectContaining({ code: 'EBADOPTIONS' }));
  });
});

describe('resourcesConflict', () => {
  const r = (text: string) => parseResource(text, { cwd: '/w' });
  const conflict = (a: string, b: string) => {
    const ab = resourcesConflict(r(a), r(b));
    expect(resourcesConflict(r(b), r(a))).toBe(ab); // symmetric
    return ab;
  };

  it('same namespace and name conflict; other names and other namespaces do not', () => {
    expect(conflict('package:a', 'package:a')).toBe(true);
    expect(conflict('package:a', 'package:b')).toBe(false);
    expect(conflict('package:x', 'group:x')).toBe(false);
    expect(conflict('group:release', 'group:release')).toBe(true);
  });

  it('repo: conflicts with everything, another repo: name included', () => {
    for (const other of ['package:a', 'path:/w/x', 'group:g', 'repo:main', 'repo:other']) expect(conflict('repo:main', other)).toBe(true);
  });

  it('path: conflicts with overlapping paths: equal, inside, containing; not with siblings sharing a prefix', () => {
    expect(conflict('path:/w/dist', 'path:/w/dist')).toBe(true);
    expect(conflict('path:/w/dist', 'path:/w/dist/app/gen')).toBe(true);
    expect(conflict('path:/', 'path:/w/dist')).toBe(true);
    expect(conflict('path:/w/dist', 'path:/w/dist2')).toBe(false);
    expect(conflict('path:/w/dist/app', 'path:/w/dist/api')).toBe(false);
  });

  it('repository-relative paths: "." is the whole repository', () => {
    const rel = (t: string) => parseResource(t, { cwd: '/repo', root: '/repo' });
    expect(resourcesConflict(rel('path:.'), rel('path:dist/app'))).toBe(true);
    expect(resourcesConflict(rel('path:dist'), rel('path:dist/app'))).toBe(true);
    expect(resourcesConflict(rel('path:dist'), rel('path:distx'))).toBe(false);
  });
});

describe('defaultLeaseOwner', () => {
  it('takes --owner, else LOCKSTEP_OWNER, else <user>@<host>', () => {
    expect(defaultLeaseOwner({ LOCKSTEP_OWNER: 'env-owner' }, 'flag-owner')).toBe('flag-owner');
    expect(defaultLeaseOwner({ LOCKSTEP_OWNER: ' env-owner ' })).toBe('env-owner');
    expect(defaultLeaseOwner({})).toBe(`${os.userInfo().username}@${os.hostname()}`);
    expect(defaultLeaseOwner({ LOCKSTEP_OWNER: '  ' })).toMatch(/.+@.+/);
  });
});
