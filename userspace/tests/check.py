#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host unit tests of lazyfreectl against a fake sysfs/cgroup tree.

    python3 tests/check.py ./lazyfreectl   (what `make -C userspace check` runs)

Each test builds a fresh tree in a temporary directory and points the tool
at it with LAZYFREE_ROOT (the test-only prefix for every absolute path the
tool opens). The fake /sys/kernel/lazyfree is plain files: writes land in
them, nothing reacts (so `cgroups/add` does not create a directory; tests
pre-create the directories of tracked cgroups, as the module would).
Cgroup ids are the inode numbers of the fake cgroup directories, as on a
real cgroup file system. Ends with "N passed, N failed"; exit 1 on failure.
"""
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import promcheck  # noqa: E402

TOOL = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(HERE, '..', 'lazyfreectl'))
SYSFS = '/sys/kernel/lazyfree'
with open(os.path.join(HERE, '..', '..', 'VERSION')) as _v:
    VERSION = _v.read().strip()


class Fake:
    """A fake node: lazyfree sysfs, a cgroup hierarchy, /proc bits."""

    def __init__(self, lane='v2'):
        self.tmp = tempfile.mkdtemp(prefix='lazyfreectl-test.')
        self.root = os.path.join(self.tmp, 'root')
        self.lane = lane
        self.mnt = '/sys/fs/cgroup' if lane == 'v2' else '/sys/fs/cgroup/memory'
        os.makedirs(self.real(self.mnt))
        self.write(SYSFS + '/enabled', '1')
        self.write(SYSFS + '/default_mode', 'free')
        self.write(SYSFS + '/hook',
                   'madvise_dontneed_free_valid_vma ftrace\n'
                   'madvise_free_single_vma kprobe')
        self.write(SYSFS + '/hierarchy', lane)
        self.write(SYSFS + '/free_bytes', '1610612736')
        self.write(SYSFS + '/rewritten_bytes', '536870912')
        self.write(SYSFS + '/pinned_bytes', '1048576')
        self.write(SYSFS + '/cgroups/add', '')
        self.write(SYSFS + '/cgroups/remove', '')
        self.write('/sys/module/lazyfree/parameters/max_cgroups', '4096')
        self.write('/sys/module/lazyfree/parameters/default_mode', 'free')
        self.write('/sys/module/lazyfree/version', VERSION)
        mi = ['22 1 0:20 / /sys rw,nosuid - sysfs sysfs rw',
              '23 22 0:21 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw']
        if lane == 'v2':
            mi = [mi[0], '24 22 0:22 /sub /sys/fs/cgroup/bind rw - cgroup2 cgroup2 rw',
                  '25 22 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate']
        else:
            mi += ['26 22 0:23 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct',
                   '27 22 0:24 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
                   '28 22 0:25 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids']
        self.write('/proc/self/mountinfo', '\n'.join(mi))

    def real(self, logical):
        return self.root + logical

    def write(self, logical, text, nl=True):
        p = self.real(logical)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, 'w') as f:
            f.write(text + ('\n' if nl and text else ''))

    def read(self, logical):
        with open(self.real(logical)) as f:
            return f.read()

    def mkcg(self, rel):
        """Create a cgroup directory (rel like '/a/b'); return its id."""
        p = self.real(self.mnt + rel)
        os.makedirs(p, exist_ok=True)
        if not os.path.exists(p + '/cgroup.procs'):
            open(p + '/cgroup.procs', 'w').close()
        return os.stat(p).st_ino

    def track(self, rel, mode='inherit', eff='free', freed=0, rewritten=0,
              cid=None, pinned=0):
        cid = cid if cid is not None else self.mkcg(rel)
        d = f'{SYSFS}/cgroups/{cid}'
        self.write(d + '/path', rel)
        self.write(d + '/mode', mode)
        self.write(d + '/effective_mode', eff)
        self.write(d + '/free_bytes', str(freed))
        self.write(d + '/rewritten_bytes', str(rewritten))
        self.write(d + '/pinned_bytes', str(pinned))
        return cid

    def mode(self, cid):
        return self.read(f'{SYSFS}/cgroups/{cid}/mode')

    def snapshot(self):
        out = {}
        for dp, dns, fns in os.walk(self.real(SYSFS)):
            for fn in fns:
                with open(os.path.join(dp, fn)) as f:
                    out[os.path.join(dp, fn)] = f.read()
        return out

    def run(self, *args, stdin=None, env=None):
        e = dict(os.environ, LAZYFREE_ROOT=self.root)
        e.pop('LANG', None)
        e['LC_ALL'] = 'C'
        if env:
            e.update(env)
        p = subprocess.run([TOOL] + list(args), input=stdin, env=e,
                           capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout, p.stderr

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def standard(lane='v2'):
    """The tree most tests use: a few tracked cgroups, one untracked."""
    f = Fake(lane)
    f.ids = {
        '/': f.track('/', 'inherit', 'free', 4096, 0, cid=f.mkcg('')),
        '/kubepods.slice': f.track('/kubepods.slice', 'dontneed', 'dontneed',
                                   1 << 30, 1 << 29),
        '/kubepods.slice/pod1': f.track('/kubepods.slice/pod1', 'inherit',
                                        'dontneed', 4 << 20, 3 << 20,
                                        pinned=1 << 20),
        '/system.slice/foo.service': f.track('/system.slice/foo.service',
                                             'free', 'free', 1536, 0),
    }
    f.untracked = f.mkcg('/system.slice/bar.service')
    return f


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def eq(got, want, what=''):
    if got != want:
        raise AssertionError(f'{what}\n  got:  {got!r}\n  want: {want!r}')


def ok(rc, out, err):
    if rc != 0:
        raise AssertionError(f'exit {rc}, stderr: {err!r}')
    eq(err, '', 'stderr')
    return out


# --- resolution of CGROUP arguments --------------------------------------

@test
def resolve_absolute_relative_and_id():
    f = standard()
    cid = f.ids['/system.slice/foo.service']
    for arg in ('/sys/fs/cgroup/system.slice/foo.service',
                'system.slice/foo.service', '/system.slice/foo.service',
                '/sys/fs/cgroup/system.slice/./bar.service/../foo.service/',
                str(cid)):
        f.write(f'{SYSFS}/cgroups/{cid}/mode', 'inherit')
        ok(*f.run('set', arg, 'dontneed'))
        eq(f.mode(cid), 'dontneed\n', arg)
    eq(f.read(SYSFS + '/cgroups/add'), '', 'tracked: add not written')
    f.cleanup()


@test
def resolve_root_cgroup():
    f = standard()
    for arg in ('/sys/fs/cgroup', '/', '/sys/fs/cgroup/', str(f.ids['/'])):
        f.write(f'{SYSFS}/cgroups/{f.ids["/"]}/mode', 'inherit')
        ok(*f.run('set', arg, 'free'))
        eq(f.mode(f.ids['/']), 'free\n', arg)
    f.cleanup()


@test
def resolve_errors():
    f = standard()
    rc, out, err = f.run('set', '/sys/fs/cgroup/nope', 'free')
    eq((rc, out, err), (1, '', 'lazyfreectl: /sys/fs/cgroup/nope: no such '
                        'cgroup (/sys/fs/cgroup/nope): No such file or directory\n'))
    rc, out, err = f.run('set', 'kubepods.slice/nope', 'free')
    eq(err, 'lazyfreectl: /sys/fs/cgroup/kubepods.slice/nope: no such cgroup '
       '(kubepods.slice/nope): No such file or directory\n')
    rc, out, err = f.run('set', 'kubepods.slice/cgroup.procs', 'free')
    eq((rc, err), (1, 'lazyfreectl: /sys/fs/cgroup/kubepods.slice/cgroup.procs:'
                   ' no such cgroup (kubepods.slice/cgroup.procs): Not a directory\n'))
    rc, out, err = f.run('set', '../etc', 'free')
    eq((rc, err), (1, 'lazyfreectl: invalid cgroup path (../etc): Invalid argument\n'))
    rc, out, err = f.run('set', '', 'free')
    eq((rc, err), (1, 'lazyfreectl: empty cgroup: Invalid argument\n'))
    eq(f.read(SYSFS + '/cgroups/add'), '', 'nothing written')
    f.cleanup()


@test
def set_untracked_writes_add_then_rolls_back():
    # The fake add creates no directory, so the mode write fails: the tool
    # must report it and remove the entry it added (nothing half-applied).
    f = standard()
    cid = f.untracked
    rc, out, err = f.run('set', 'system.slice/bar.service', 'dontneed')
    eq(rc, 1)
    eq(err, f'lazyfreectl: {SYSFS}/cgroups/{cid}/mode: write failed '
       '(dontneed): No such file or directory\n')
    eq(f.read(SYSFS + '/cgroups/add'), f'{cid}\n')
    eq(f.read(SYSFS + '/cgroups/remove'), f'{cid}\n')
    f.cleanup()


@test
def set_untracked_success_when_module_creates_dir():
    f = standard()
    cid = f.untracked
    # pretend the module created the directory on add
    f.track('/system.slice/bar.service', cid=cid)
    ok(*f.run('set', str(cid), 'free'))
    eq(f.mode(cid), 'free\n')
    f.cleanup()


@test
def set_add_refused_by_kernel():
    f = standard()
    os.remove(f.real(SYSFS + '/cgroups/add'))
    os.mkdir(f.real(SYSFS + '/cgroups/add'))    # any write error will do
    rc, out, err = f.run('set', 'system.slice/bar.service', 'free')
    eq((rc, err), (1, f'lazyfreectl: {SYSFS}/cgroups/add: write failed '
                   f'({f.untracked}): Is a directory\n'))
    f.cleanup()


@test
def set_add_max_cgroups_reached():
    f = standard()
    os.remove(f.real(SYSFS + '/cgroups/add'))
    os.symlink('/dev/full', f.real(SYSFS + '/cgroups/add'))  # ENOSPC
    rc, out, err = f.run('set', 'system.slice/bar.service', 'free')
    eq((rc, err), (1, f'lazyfreectl: {SYSFS}/cgroups/add: write failed, '
                   f'max_cgroups reached ({f.untracked}): No space left on device\n'))
    f.cleanup()


@test
def set_bad_mode_and_usage():
    f = standard()
    snap = f.snapshot()
    eq(f.run('set', '/', 'lazy'), (1, '', 'lazyfreectl: set: unknown mode '
                                   '(lazy): expected free, dontneed or inherit\n'))
    eq(f.run('set', '/'), (1, '', 'lazyfreectl: set: expected CGROUP MODE: '
                           'Invalid argument\n'))
    eq(f.run('default', 'inherit'), (1, '', 'lazyfreectl: default: unknown mode '
                                     '(inherit): expected free or dontneed\n'))
    eq(f.snapshot(), snap, 'nothing changed')
    f.cleanup()


@test
def numeric_id_resolves_to_directory_by_walk():
    # reclaim needs the directory: an untracked id is found by walking
    f = standard()
    d = f.real(f.mnt + '/system.slice/bar.service')
    f.write(f.mnt + '/system.slice/bar.service/memory.current', '1000')
    f.write(f.mnt + '/system.slice/bar.service/memory.reclaim', '')
    rc, out, err = f.run('-b', 'reclaim', '--all', str(os.stat(d).st_ino))
    eq((rc, out, err), (0, '/system.slice/bar.service: lazily freed 0 -> 0, '
                        'memory.current 1000 -> 1000\n', ''))
    rc, out, err = f.run('reclaim', '999999999')
    eq((rc, err), (1, 'lazyfreectl: no such cgroup (999999999): '
                   'No such file or directory\n'))
    f.cleanup()


# --- enable / disable / default -------------------------------------------

@test
def enable_disable_default():
    f = standard()
    ok(*f.run('disable'))
    eq(f.read(SYSFS + '/enabled'), '0\n')
    ok(*f.run('enable'))
    eq(f.read(SYSFS + '/enabled'), '1\n')
    ok(*f.run('default', 'dontneed'))
    eq(f.read(SYSFS + '/default_mode'), 'dontneed\n')
    ok(*f.run('default', 'free'))
    eq(f.read(SYSFS + '/default_mode'), 'free\n')
    eq(f.run('enable', 'x')[0], 1)
    f.cleanup()


# --- status -----------------------------------------------------------------

@test
def status_human_and_json():
    f = standard()
    out = ok(*f.run())
    eq(out, ok(*f.run('status')), 'status is the default command')
    want = ['enabled:      yes',
            'hook:         madvise_dontneed_free_valid_vma (ftrace), '
            'madvise_free_single_vma (kprobe)',
            'hierarchy:    v2',
            'mount:        /sys/fs/cgroup',
            'default mode: free',
            'cgroups:      4',
            'max cgroups:  4096',
            'freed:        1.5G',
            'rewritten:    512M',
            'pinned:       1M']
    eq([ln.rstrip() for ln in out.splitlines()], want)
    js = json.loads(ok(*f.run('--json', '--bytes')))
    eq(js, {'lazyfree': [{'enabled': True,
                          'hook': 'madvise_dontneed_free_valid_vma (ftrace), '
                                  'madvise_free_single_vma (kprobe)',
                          'hierarchy': 'v2', 'mount': '/sys/fs/cgroup',
                          'default_mode': 'free', 'cgroups': 4,
                          'max_cgroups': 4096, 'freed': 1610612736,
                          'rewritten': 536870912, 'pinned': 1048576}]})
    f.write(SYSFS + '/hook', 'madvise_free_single_vma ftrace untested')
    assert ('hook:         madvise_free_single_vma (ftrace, untested line)\n'
            in ok(*f.run())), 'a line the load gate marks untested'
    f.write(SYSFS + '/enabled', '0')
    eq(json.loads(ok(*f.run('-J')))['lazyfree'][0]['enabled'], False)
    assert 'enabled:      no\n' in ok(*f.run()), 'enabled no'
    f.cleanup()


@test
def status_v1_lane_picks_memory_hierarchy():
    f = standard('v1')
    out = ok(*f.run('status'))
    assert 'mount:        /sys/fs/cgroup/memory\n' in out, out
    cid = f.ids['/kubepods.slice/pod1']
    ok(*f.run('set', '/sys/fs/cgroup/memory/kubepods.slice/pod1', 'free'))
    eq(f.mode(cid), 'free\n')
    ok(*f.run('set', 'kubepods.slice/pod1', 'dontneed'))
    eq(f.mode(cid), 'dontneed\n')
    f.cleanup()


@test
def module_missing():
    f = Fake()
    shutil.rmtree(f.real(SYSFS))
    shutil.rmtree(f.real('/sys/module/lazyfree'))
    for args in ([], ['list'], ['set', '/', 'free'], ['apply', '/dev/null']):
        eq(f.run(*args), (1, '', f'lazyfreectl: {SYSFS}: lazyfree module not '
                          'loaded: No such file or directory\n'), args)
    f.cleanup()


@test
def mountinfo_escapes_and_missing_mount():
    f = standard()
    f.write('/proc/self/mountinfo',
            '30 1 0:22 / /sys/fs/cgroup\\040two rw - cgroup2 none rw')
    os.rename(f.real('/sys/fs/cgroup'), f.real('/sys/fs/cgroup two'))
    cid = f.ids['/kubepods.slice']
    ok(*f.run('set', '/sys/fs/cgroup two/kubepods.slice', 'free'))
    eq(f.mode(cid), 'free\n')
    f.write('/proc/self/mountinfo', '22 1 0:20 / /sys rw - sysfs sysfs rw')
    eq(f.run('set', 'kubepods.slice', 'free'),
       (1, '', 'lazyfreectl: /proc/self/mountinfo: no mount of the cgroup '
        'hierarchy (cgroup2): No such file or directory\n'))
    f.cleanup()


# --- list -------------------------------------------------------------------

@test
def list_table():
    f = standard()
    out = ok(*f.run('list'))
    lines = out.splitlines()
    eq(lines[0].split(), ['PATH', 'ID', 'MODE', 'EFFECTIVE', 'FREED', 'REWRITTEN'])
    rows = [ln.split() for ln in lines[1:]]
    eq([r[0] for r in rows], ['/', '/kubepods.slice', '/kubepods.slice/pod1',
                              '/system.slice/foo.service'], 'sorted by path')
    eq(rows[1], ['/kubepods.slice', str(f.ids['/kubepods.slice']), 'dontneed',
                 'dontneed', '1G', '512M'])
    eq(rows[3][4:], ['1.5K', '0B'])
    f.cleanup()


@test
def list_raw_noheadings_columns_bytes():
    f = standard()
    out = ok(*f.run('list', '-r', '-n', '-b', '-o', 'id,FREED,path'))
    eq(out.splitlines()[1], f'{f.ids["/kubepods.slice"]} 1073741824 /kubepods.slice')
    eq(len(out.splitlines()), 4)
    out = ok(*f.run('-rn', '-o', '+REWRITTEN', 'list'))
    eq(out.splitlines()[2].split()[-2:], ['3M', '3M'])
    eq(f.run('list', '-o', 'PATH,BOGUS'),
       (1, '', 'lazyfreectl: unknown column (BOGUS): see --help for the list\n'))
    eq(f.run('list', '-o', 'PATH,,ID'),
       (1, '', 'lazyfreectl: bad column list (PATH,,ID): Invalid argument\n'))
    eq(f.run('list', '-o', '')[0], 1)
    f.cleanup()


@test
def list_json_is_valid_and_typed():
    f = standard()
    f.track('/we"ird\\name', 'free', 'free', 7, 0)
    js = json.loads(ok(*f.run('list', '--json')))
    rows = js['cgroups']
    eq(len(rows), 5)
    eq(rows[1], {'path': '/kubepods.slice', 'id': f.ids['/kubepods.slice'],
                 'mode': 'dontneed', 'effective': 'dontneed', 'freed': '1G',
                 'rewritten': '512M'})
    eq(rows[4]['path'], '/we"ird\\name')
    js = json.loads(ok(*f.run('list', '-J', '-b', '-o', 'PATH,FREED')))
    eq(js['cgroups'][1], {'path': '/kubepods.slice', 'freed': 1073741824})
    f.cleanup()


@test
def list_lazyfree_column_sums_smaps_rollup():
    f = standard()
    rel = '/kubepods.slice/pod1'
    f.write(f.mnt + rel + '/cgroup.procs', '100\n200\n300')
    f.write('/proc/100/smaps_rollup', 'Rss:  1000 kB\nLazyFree:  1024 kB\n')
    f.write('/proc/200/smaps_rollup', 'LazyFree:  2048 kB\nSwap: 0 kB')
    # pid 300 exited meanwhile: no /proc/300
    out = ok(*f.run('list', '-b', '-r', '-o', 'PATH,LAZYFREE'))
    rows = dict(ln.split(' ', 1) for ln in out.splitlines()[1:] if ' ' in ln)
    eq(rows[rel], str(3072 * 1024))
    js = json.loads(ok(*f.run('list', '-J', '-o', 'PATH,LAZYFREE')))
    eq(js['cgroups'][2], {'path': rel, 'lazyfree': '3M'})
    f.cleanup()


@test
def list_skips_vanished_and_warns_on_broken_entries():
    f = standard()
    # a directory without files: the cgroup went away while we listed
    os.makedirs(f.real(SYSFS + '/cgroups/12345'))
    eq(len(ok(*f.run('list', '-n')).splitlines()), 4)
    # a real read failure: warn, still print the rest, exit 1
    f.track('/broken', cid=777)
    os.remove(f.real(SYSFS + '/cgroups/777/free_bytes'))
    os.mkdir(f.real(SYSFS + '/cgroups/777/free_bytes'))
    rc, out, err = f.run('list', '-n')
    eq(rc, 1)
    eq(err, f'lazyfreectl: {SYSFS}/cgroups/777/free_bytes: read failed: '
       'Is a directory\n')
    eq(len(out.splitlines()), 4)
    f.cleanup()


# --- apply ------------------------------------------------------------------

GOOD = """\
# lazyfree policy for this node
default dontneed

/sys/fs/cgroup/kubepods.slice   free      # batch pods keep MADV_FREE
system.slice/foo.service        dontneed
\t/kubepods.slice/pod1\tinherit\t
"""


@test
def apply_good_file_and_idempotent():
    f = standard()
    path = os.path.join(f.tmp, 'policy')
    with open(path, 'w') as fh:
        fh.write(GOOD)
    out = ok(*f.run('apply', path))
    eq(out, 'default: free -> dontneed\n'
            '/kubepods.slice: dontneed -> free\n'
            '/system.slice/foo.service: free -> dontneed\n')
    eq(f.read(SYSFS + '/default_mode'), 'dontneed\n')
    eq(f.mode(f.ids['/kubepods.slice']), 'free\n')
    eq(f.mode(f.ids['/system.slice/foo.service']), 'dontneed\n')
    eq(f.mode(f.ids['/kubepods.slice/pod1']), 'inherit\n')
    snap = f.snapshot()
    mtimes = {p: os.stat(p).st_mtime_ns for p in snap}
    eq(ok(*f.run('apply', path)), '', 'second apply changes nothing')
    eq(f.snapshot(), snap)
    eq({p: os.stat(p).st_mtime_ns for p in snap}, mtimes, 'nothing written')
    # the same from stdin
    f.write(SYSFS + '/default_mode', 'free')
    eq(ok(*f.run('apply', '-', stdin=GOOD)), 'default: free -> dontneed\n')
    f.cleanup()


BAD = """\
default dontneed
kubepods.slice free
/kubepods.slice lazy
no/such/cgroup free
kubepods.slice dontneed
default free
justoneword
a free c
default inherit
99999999 free
../../etc free
kubepods.slice free optional extra
default free optional
"""


@test
def apply_bad_file_reports_every_line_and_changes_nothing():
    f = standard()
    path = os.path.join(f.tmp, 'bad.conf')
    with open(path, 'w') as fh:
        fh.write(BAD)
    snap = f.snapshot()
    rc, out, err = f.run('apply', path)
    eq(rc, 1)
    eq(out, '')
    want = [
        f'{path}:3: unknown mode (lazy): expected free, dontneed or inherit',
        f'{path}:4: no such cgroup (no/such/cgroup): No such file or directory',
        f'{path}:5: cgroup already given on line 2 (kubepods.slice): Invalid argument',
        f'{path}:6: default already given on line 1 (free): Invalid argument',
        f'{path}:7: expected CGROUP MODE [optional] or default MODE (justoneword): Invalid argument',
        f'{path}:8: unknown option (c): expected optional',
        f'{path}:9: unknown default mode (inherit): expected free or dontneed',
        f'{path}:10: no such cgroup (99999999): No such file or directory',
        f'{path}:11: no such cgroup (../../etc): Invalid argument',
        f'{path}:12: expected CGROUP MODE [optional] or default MODE (kubepods.slice): Invalid argument',
        f'{path}:13: expected default MODE (optional): Invalid argument',
        f'{path}: nothing applied: 11 errors',
    ]
    eq(err.splitlines(), ['lazyfreectl: ' + w for w in want])
    eq(f.snapshot(), snap, 'nothing changed')
    eq(f.run('apply', os.path.join(f.tmp, 'missing')),
       (1, '', f'lazyfreectl: {f.tmp}/missing: cannot open: '
        'No such file or directory\n'))
    f.cleanup()


@test
def apply_rolls_back_when_the_kernel_refuses():
    f = standard()
    os.remove(f.real(SYSFS + '/cgroups/add'))
    os.mkdir(f.real(SYSFS + '/cgroups/add'))
    snap = f.snapshot()
    rc, out, err = f.run('apply', '-', stdin='default dontneed\n'
                         'kubepods.slice free\nsystem.slice/bar.service free\n')
    eq((rc, out), (1, ''))
    eq(err, f'lazyfreectl: {SYSFS}/cgroups/add: write failed ({f.untracked}): '
       'Is a directory\n'
       'lazyfreectl: <stdin>: nothing applied: previous settings restored\n')
    eq(f.snapshot(), snap, 'previous settings restored')
    f.cleanup()


@test
def apply_prune_resets_unlisted_explicit_modes():
    f = standard()
    out = ok(*f.run('apply', '--prune', '-', stdin='kubepods.slice dontneed\n'))
    eq(out, '/system.slice/foo.service: free -> inherit\n')
    eq(f.mode(f.ids['/kubepods.slice']), 'dontneed\n')
    eq(f.mode(f.ids['/system.slice/foo.service']), 'inherit\n')
    eq(ok(*f.run('apply', '--prune', '-', stdin='kubepods.slice dontneed\n')), '')
    f.cleanup()


@test
def apply_prune_without_default_restores_the_load_time_default():
    f = standard()
    f.write(SYSFS + '/default_mode', 'dontneed')
    policy = 'kubepods.slice dontneed\nsystem.slice/foo.service free\n'
    # without --prune a missing default line leaves the default alone
    eq(ok(*f.run('apply', '-', stdin=policy)), '')
    eq(f.read(SYSFS + '/default_mode'), 'dontneed\n')
    # with it, the file is the whole policy: the default given at load
    eq(ok(*f.run('apply', '--prune', '-', stdin=policy)),
       'default: dontneed -> free\n')
    eq(f.read(SYSFS + '/default_mode'), 'free\n')
    f.write('/sys/module/lazyfree/parameters/default_mode', 'dontneed')
    eq(ok(*f.run('apply', '--prune', '-', stdin=policy)),
       'default: free -> dontneed\n')
    eq(ok(*f.run('apply', '--prune', '-', stdin='default free\n' + policy)),
       'default: dontneed -> free\n')
    # an unreadable parameter: reported, nothing applied
    os.remove(f.real('/sys/module/lazyfree/parameters/default_mode'))
    snap = f.snapshot()
    eq(f.run('apply', '--prune', '-', stdin=policy),
       (1, '', 'lazyfreectl: /sys/module/lazyfree/parameters/default_mode: '
        'read failed: No such file or directory\n'))
    eq(f.snapshot(), snap)
    f.cleanup()


@test
def apply_patterns_and_optional_lines():
    f = standard()
    # the fake's cgroups/add makes no directory: track what patterns match
    for rel in ('/kubepods.slice/kubepods-burstable.slice',
                '/kubepods.slice/kubepods-burstable.slice/pod-a',
                '/kubepods.slice/kubepods-besteffort.slice',
                '/kubepods/burstable'):
        f.track(rel)
    besteffort = f.mkcg('/kubepods.slice/kubepods-besteffort.slice')
    burstable = f.mkcg('/kubepods.slice/kubepods-burstable.slice')
    policy = ('kubepods*.slice/*burstable* dontneed  # systemd driver\n'
              'kubepods/burstable*          dontneed  # cgroupfs driver\n'
              'kubepods*.slice/*             free\n'
              'kubepods.slice/kubepods-burstable.slice free\n'
              'not-yet.slice dontneed optional\n'
              'nothing*.slice dontneed\n')
    rc, out, err = f.run('apply', '--prune', '-', stdin=policy)
    eq(rc, 0, err)
    # a path line wins over patterns; among patterns the first line wins
    eq(f.mode(burstable), 'free\n')
    eq(f.mode(besteffort), 'free\n')
    cgroupfs = f.mkcg('/kubepods/burstable')
    eq(f.mode(cgroupfs), 'dontneed\n')
    eq(f.mode(f.ids['/kubepods.slice/pod1']), 'free\n')
    eq(err.splitlines(), [
        'lazyfreectl: <stdin>:5: no such cgroup (not-yet.slice): optional '
        'line, skipped',
        'lazyfreectl: <stdin>:6: pattern matches no cgroup (nothing*.slice): '
        'skipped'])
    # matched afresh on every apply: the slice appears, the next apply sets it
    late = f.mkcg('/not-yet.slice')
    f.track('/not-yet.slice')
    nothing = f.mkcg('/nothing-here.slice')
    f.track('/nothing-here.slice')
    rc, out, err = f.run('apply', '--prune', '-', stdin=policy)
    eq((rc, err), (0, ''))
    eq(out, '/not-yet.slice: inherit -> dontneed\n'
            '/nothing-here.slice: inherit -> dontneed\n')
    eq((f.mode(late), f.mode(nothing)), ('dontneed\n', 'dontneed\n'))
    # a required line still fails the whole file
    snap = f.snapshot()
    rc, out, err = f.run('apply', '-', stdin='gone.slice free\n*.slice free\n')
    eq((rc, out), (1, ''))
    eq(err, 'lazyfreectl: <stdin>:1: no such cgroup (gone.slice): No such '
       'file or directory\nlazyfreectl: <stdin>: nothing applied: 1 error\n')
    eq(f.snapshot(), snap)
    # one cgroup as a path and as an id is still a duplicate
    rc, out, err = f.run('apply', '-', stdin=f'not-yet.slice free\n{late} free\n')
    eq(rc, 1)
    assert '<stdin>:2: cgroup already given on line 1' in err, err
    f.cleanup()


@test
def apply_check_needs_no_module_and_reports_every_line():
    f = Fake()
    shutil.rmtree(f.real(SYSFS))
    shutil.rmtree(f.real('/sys/module'))
    good = ('default dontneed\nkubepods*.slice/*burstable* dontneed\n'
            'no/such/cgroup free optional\n# comment\n\n')
    eq(f.run('apply', '--check', '-', stdin=good),
       (0, '<stdin>: 2 cgroup lines and a default, syntax ok\n', ''))
    path = os.path.join(f.tmp, 'bad.conf')
    with open(path, 'w') as fh:
        fh.write(BAD)
    rc, out, err = f.run('apply', '--check', path)
    eq((rc, out), (1, ''))
    want = [
        f'{path}:3: unknown mode (lazy): expected free, dontneed or inherit',
        f'{path}:5: cgroup already given on line 2 (kubepods.slice): Invalid argument',
        f'{path}:6: default already given on line 1 (free): Invalid argument',
        f'{path}:7: expected CGROUP MODE [optional] or default MODE (justoneword): Invalid argument',
        f'{path}:8: unknown option (c): expected optional',
        f'{path}:9: unknown default mode (inherit): expected free or dontneed',
        f'{path}:12: expected CGROUP MODE [optional] or default MODE (kubepods.slice): Invalid argument',
        f'{path}:13: expected default MODE (optional): Invalid argument',
        f'{path}: invalid: 8 errors',
    ]
    eq(err.splitlines(), ['lazyfreectl: ' + w for w in want])
    # no root needed either: checked before the root check
    f.cleanup()


# --- metrics ----------------------------------------------------------------

@test
def metrics_parse_strictly_and_match_golden():
    f = standard()
    out = ok(*f.run('metrics'))
    samples = promcheck.parse(out)
    by = {(n, tuple(sorted(lb.items()))): v for n, lb, v in samples}
    eq(by[('lazyfree_node_freed_bytes_total', ())], 1610612736.0)
    eq(by[('lazyfree_freed_bytes_total', (('cgroup', '/kubepods.slice'),))],
       float(1 << 30))
    eq(by[('lazyfree_rewritten_bytes_total',
           (('cgroup', '/kubepods.slice/pod1'),))], float(3 << 20))
    kernel = os.uname().release
    out = out.replace(f'kernel="{kernel}"', 'kernel="KERNEL"').replace(
        f'version="{VERSION}"', 'version="VERSION"')
    with open(os.path.join(HERE, 'golden', 'metrics.prom')) as g:
        eq(out, g.read(), 'golden file tests/golden/metrics.prom')
    f.cleanup()


@test
def metrics_up_and_build_info_without_and_with_the_module():
    f = standard()
    lazy_procs(f, '/kubepods.slice/pod1', {201: 512})
    samples = promcheck.parse(ok(*f.run('metrics')))
    by = {(n, tuple(sorted(lb.items()))): v for n, lb, v in samples}
    eq(by[('lazyfree_up', ())], 1.0)
    info = [lb for n, lb, v in samples if n == 'lazyfree_build_info']
    eq(info, [{'tool_version': VERSION, 'module_version': VERSION,
               'kernel': os.uname().release,
               'hook': 'madvise_dontneed_free_valid_vma,madvise_free_single_vma',
               'mechanism': 'ftrace,kprobe'}])
    eq(by[('lazyfree_lazyfree_bytes', (('cgroup', '/kubepods.slice/pod1'),))],
       512.0 * 1024)
    # rmmod: lazyfree_up 0, build info without the module's part, nothing else
    shutil.rmtree(f.real(SYSFS))
    shutil.rmtree(f.real('/sys/module/lazyfree'))
    rc, out, err = f.run('metrics')
    eq((rc, err), (0, f'lazyfreectl: {SYSFS}: lazyfree module not loaded: '
                   'No such file or directory\n'))
    samples = promcheck.parse(out)
    eq([n for n, lb, v in samples], ['lazyfree_up', 'lazyfree_build_info'])
    eq(samples[0][2], 0.0)
    eq(samples[1][1], {'tool_version': VERSION, 'module_version': '',
                       'kernel': os.uname().release, 'hook': '',
                       'mechanism': ''})
    f.cleanup()


@test
def metrics_escape_label_values_and_dedupe_paths():
    f = standard()
    weird = '/a\\b"c\nd'
    f.track(weird, 'free', 'free', 5, 0, cid=900001)
    # a removed cgroup still listed next to its re-created namesake
    f.track('/kubepods.slice', 'free', 'free', 1, 0, cid=1)
    out = ok(*f.run('metrics'))
    assert 'lazyfree_freed_bytes_total{cgroup="/a\\\\b\\"c\\nd"} 5\n' in out, out
    samples = promcheck.parse(out)
    got = [lb['cgroup'] for n, lb, v in samples
           if n == 'lazyfree_freed_bytes_total']
    assert weird in got, got
    eq(got.count('/kubepods.slice'), 1, 'one series per path')
    f.cleanup()


@test
def promcheck_rejects_bad_text():
    good = ('# HELP x_total X.\n# TYPE x_total counter\n'
            'x_total{cgroup="a"} 1\n')
    promcheck.parse(good)
    bad = [good[:-1], good + '\n', good.replace('"a"', '"a\\t"'),
           good + 'x_total{cgroup="a"} 2\n', good.replace(' 1\n', ' -1\n'),
           good.replace('# TYPE x_total counter\n', ''),
           good + '# HELP y Y.\n# TYPE y gauge\ny 1\nx_total{cgroup="b"} 1\n',
           good.replace('"a"', '"a"  '), good.replace(' 1\n', ' one\n'),
           good.replace('{cgroup="a"}', '{cgroup="a",}')]
    for b in bad:
        try:
            promcheck.parse(b)
        except ValueError:
            continue
        raise AssertionError(f'accepted bad text {b!r}')


# --- reclaim ----------------------------------------------------------------

def lazy_procs(f, rel, pids_kb):
    """Processes in cgroup rel whose smaps_rollup says LazyFree: kb."""
    d = f.mnt + rel
    f.write(d + '/cgroup.procs', '\n'.join(str(p) for p in pids_kb))
    for pid, kb in pids_kb.items():
        f.write(f'/proc/{pid}/smaps_rollup',
                f'Rss: {kb * 3} kB\nLazyFree: {kb} kB\nSwap: 0 kB')


@test
def reclaim_all_errors():
    f = standard()
    rc, out, err = f.run('reclaim', '--all', 'kubepods.slice')
    eq((rc, err), (1, 'lazyfreectl: /sys/fs/cgroup/kubepods.slice/memory.current: '
                   'not available (root cgroup, or memory controller off for '
                   'this cgroup): No such file or directory\n'))
    f.write(f.mnt + '/kubepods.slice/memory.current', '4096')
    rc, out, err = f.run('reclaim', '--all', 'kubepods.slice')
    eq((rc, err), (1, 'lazyfreectl: /sys/fs/cgroup/kubepods.slice/memory.reclaim: '
                   'not available (kernel before 5.19): No such file or directory\n'))
    f.cleanup()
    f = standard('v1')
    rc, out, err = f.run('reclaim', '--all', 'kubepods.slice')
    eq((rc, err), (1, 'lazyfreectl: /sys/fs/cgroup/memory/kubepods.slice: reclaim '
                   '--all needs cgroup v2 memory.reclaim (v1): Operation not '
                   'supported\n'))
    f.cleanup()


@test
def reclaim_all_writes_memory_current():
    f = standard()
    d = f.mnt + '/kubepods.slice'
    f.write(d + '/memory.current', str(300 << 20))
    f.write(d + '/memory.reclaim', '')
    out = ok(*f.run('reclaim', '--all', '/sys/fs/cgroup/kubepods.slice'))
    eq(out, '/kubepods.slice: lazily freed 0B -> 0B, memory.current '
       '300M -> 300M\n')
    eq(f.read(d + '/memory.reclaim'), f'{300 << 20}\n')
    f.cleanup()


def fake_pages(f, pid, vmas, flags):
    """/proc/PID/smaps with VMAS [(start, end, lazy_kb)], its pagemap (page
    i of the process maps frame i) and /proc/kpageflags (frame i: FLAGS[i])."""
    lines = []
    for start, end, kb in vmas:
        lines += [f'{start:x}-{end:x} rw-p 00000000 00:00 0', 'Size: 4 kB',
                  'AnonHugePages:         0 kB', f'LazyFree: {kb} kB']
    f.write(f'/proc/{pid}/smaps', '\n'.join(lines))
    f.write(f'/proc/{pid}/smaps_rollup',
            f'LazyFree: {sum(kb for _, _, kb in vmas)} kB')
    top = max(end for _, end, _ in vmas) // 4096
    pm = bytearray(top * 8)
    for start, end, kb in vmas:
        for page in range(start // 4096, end // 4096):
            pm[page * 8:page * 8 + 8] = ((1 << 63) | page).to_bytes(8, 'little')
    with open(f.real(f'/proc/{pid}/pagemap'), 'wb') as fh:
        fh.write(pm)
    kf = bytearray(top * 8)
    for page, fl in flags.items():
        kf[page * 8:page * 8 + 8] = fl.to_bytes(8, 'little')
    with open(f.real('/proc/kpageflags'), 'wb') as fh:
        fh.write(kf)


@test
def reclaim_dry_run_picks_anon_pages_that_are_not_swapbacked():
    f = standard()
    anon, swapbacked = 1 << 12, 1 << 14
    base = 0x10000000
    p0 = base // 4096
    # VMA 1 (LazyFree > 0): pages 0-3 lazily freed, 4 in use (swapbacked),
    # 5 page cache; VMA 2 (LazyFree 0) is not even scanned
    flags = {p0: anon, p0 + 1: anon, p0 + 2: anon, p0 + 3: anon,
             p0 + 4: anon | swapbacked, p0 + 5: 0,
             p0 + 16: anon, p0 + 17: anon}
    fake_pages(f, 4242, [(base, base + 6 * 4096, 16),
                         (base + 16 * 4096, base + 18 * 4096, 0)], flags)
    f.write(f.mnt + '/kubepods.slice/pod1/cgroup.procs', '4242')
    eq(ok(*f.run('-b', '--dry-run', 'reclaim', 'kubepods.slice')),
       f'/kubepods.slice: lazily freed {16 << 10}, would page out {4 * 4096}\n')
    eq(f.run('--dry-run', '--all', 'reclaim', 'kubepods.slice'),
       (1, '', 'lazyfreectl: reclaim: --all and --dry-run exclude each other: '
        'Invalid argument\n'))
    os.remove(f.real('/proc/kpageflags'))
    eq(f.run('--dry-run', 'reclaim', 'kubepods.slice'),
       (1, '', 'lazyfreectl: /proc/kpageflags: read failed: No such file or '
        'directory\n'))
    f.cleanup()


@test
def reclaim_drops_a_real_process_lazily_freed_pages():
    helper = os.path.join(HERE, 'build', 'madvfree_helper')
    if os.geteuid() != 0 or not os.access('/proc/kpageflags', os.R_OK):
        return 'SKIP needs root and /proc/kpageflags'
    if not os.access(helper, os.X_OK):
        return 'SKIP tests/build/madvfree_helper not built'
    f = standard()
    ready = os.path.join(f.tmp, 'ready')
    p = subprocess.Popen([helper, '32', ready])
    try:
        for _ in range(100):
            if os.path.exists(ready) and open(ready).read():
                break
            subprocess.run(['sleep', '0.05'])
        eq(open(ready).read(), 'ready 0 0\n')
        os.symlink(f'/proc/{p.pid}', f.real(f'/proc/{p.pid}'))
        os.symlink('/proc/kpageflags', f.real('/proc/kpageflags'))
        f.write(f.mnt + '/kubepods.slice/cgroup.procs', str(p.pid))

        def lazy():
            with open(f'/proc/{p.pid}/smaps_rollup') as r:
                return next(int(ln.split()[1]) for ln in r
                            if ln.startswith('LazyFree:'))
        before = lazy()
        rc, out, err = f.run('reclaim', 'kubepods.slice')
        if rc and 'process_madvise' in err:
            return f'SKIP this kernel refuses process_madvise: {err.strip()}'
        eq((rc, err), (0, ''))
        assert before >= 30 << 10, before
        # all but what still sat in a CPU's LRU batch (up to 15 pages
        # whose PG_swapbacked the kernel clears only when it drains)
        assert lazy() * 100 <= before, f'LazyFree {before} -> {lazy()} kB'
        assert out.startswith('/kubepods.slice: lazily freed '), out
    finally:
        p.kill()
        p.wait()
        f.cleanup()


# --- general ---------------------------------------------------------------

@test
def help_version_and_usage_errors():
    f = standard()
    out = ok(*f.run('--help'))
    for cmd in ('status', 'list', 'set CGROUP MODE', 'default MODE', 'enable',
                'disable', 'apply FILE', 'metrics', 'reclaim CGROUP', 'LAZYFREE'):
        assert cmd in out, cmd
    out = ok(*f.run('--version'))
    lines = out.splitlines()
    assert lines[0].startswith(f'lazyfreectl {VERSION}'), out
    eq(lines[1:], [f'lazyfree module {VERSION}'])
    f.write('/sys/module/lazyfree/version', '0.0.9')
    eq(ok(*f.run('--version')).splitlines()[1:], ['lazyfree module 0.0.9'])
    shutil.rmtree(f.real('/sys/module/lazyfree'))
    eq(ok(*f.run('--version')).splitlines()[1:], ['lazyfree module: not loaded'])
    eq(f.run('frobnicate'), (1, '', 'lazyfreectl: unknown command (frobnicate): '
                             'Invalid argument\nTry \'lazyfreectl --help\' for '
                             'more information.\n'))
    rc, out, err = f.run('--bogus')
    eq(rc, 1)
    assert err.endswith("Try 'lazyfreectl --help' for more information.\n"), err
    f.cleanup()


@test
def read_failure_names_the_file():
    f = standard()
    os.remove(f.real(SYSFS + '/hook'))
    eq(f.run('status'), (1, '', f'lazyfreectl: {SYSFS}/hook: read failed: '
                         'No such file or directory\n'))
    os.remove(f.real(SYSFS + '/default_mode'))
    rc, out, err = f.run('metrics')
    eq((rc, err), (0, f'lazyfreectl: {SYSFS}/default_mode: read '
                   'failed: No such file or directory\n'))
    assert 'lazyfree_up 0\n' in out, out
    f.cleanup()


@test
def write_refused_reports_path_value_reason():
    f = standard()
    os.remove(f.real(SYSFS + '/default_mode'))
    os.mkdir(f.real(SYSFS + '/default_mode'))
    eq(f.run('default', 'dontneed'),
       (1, '', f'lazyfreectl: {SYSFS}/default_mode: write failed (dontneed): '
        'Is a directory\n'))
    f.cleanup()


@test
def non_root_is_refused_before_anything():
    if os.geteuid() != 0 or not shutil.which('setpriv'):
        return 'SKIP needs root and setpriv'
    d = tempfile.mkdtemp(prefix='lazyfreectl-nonroot.')
    os.chmod(d, 0o755)
    tool = os.path.join(d, 'lazyfreectl')
    shutil.copy(TOOL, tool)
    os.chmod(tool, 0o755)
    env = {k: v for k, v in os.environ.items() if k != 'LAZYFREE_ROOT'}
    env['LC_ALL'] = 'C'
    for cmd in (['set', '/', 'free'], ['enable'], ['apply', '/dev/null'],
                ['reclaim', '/']):
        p = subprocess.run(['setpriv', '--reuid=65534', '--regid=65534',
                            '--clear-groups', tool] + cmd, env=env,
                           capture_output=True, text=True)
        eq((p.returncode, p.stdout, p.stderr),
           (1, '', f'lazyfreectl: {cmd[0]}: must be run as root: '
            'Operation not permitted\n'), cmd)
    shutil.rmtree(d)


def main():
    if not os.access(TOOL, os.X_OK):
        print(f'check.py: {TOOL}: not executable (build it first)')
        return 1
    passed = failed = skipped = 0
    for i, t in enumerate(TESTS, 1):
        try:
            r = t()
        except Exception:
            failed += 1
            print(f'not ok {i} {t.__name__}')
            for ln in traceback.format_exc().splitlines():
                print(f'# {ln}')
            continue
        if isinstance(r, str) and r.startswith('SKIP'):
            skipped += 1
            print(f'ok {i} {t.__name__} # {r}')
        else:
            passed += 1
            print(f'ok {i} {t.__name__}')
    print(f'{passed} passed, {failed} failed' +
          (f', {skipped} skipped' if skipped else ''))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
