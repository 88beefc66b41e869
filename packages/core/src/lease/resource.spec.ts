import * as os from 'os';
import * as path from 'path';
import { defaultLeaseOwner, parseResource, resourceFromId, resourcesConflict } from './resource';

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
