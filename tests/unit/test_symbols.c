// SPDX-License-Identifier: GPL-2.0-only
/*
 * Names of addresses in real ELF files (tests/unit/fixtures, built by make
 * into $CONTRACE_FIXTURES): live processes of a PIE, a non-PIE and a
 * stripped executable using a shared library, the same names from the cache
 * once they are gone, and broken maps lines and files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe/symbols.h"

#define MAX_ADDRS 32

/* A fixture program running, and the addresses it printed. */
struct child {
	pid_t pid;
	size_t n;
	char names[MAX_ADDRS][32];
	uint64_t addrs[MAX_ADDRS];
};

static void fixture_path(char *buf, size_t len, const char *name)
{
	const char *dir = getenv("CONTRACE_FIXTURES");

	snprintf(buf, len, "%s/%s", dir && *dir ? dir : "build/fixtures", name);
}

/* Run program prog of directory dir (NULL: the fixtures') and read what it prints. */
static void child_start(struct child *c, const char *dir, const char *prog)
{
	char path[PATH_MAX], line[256];
	bool done = false;
	int fds[2];
	FILE *f;

	memset(c, 0, sizeof(*c));
	if (dir)
		snprintf(path, sizeof(path), "%s/%s", dir, prog);
	else
		fixture_path(path, sizeof(path), prog);
	if (access(path, X_OK))
		fail_msg("no fixture %s: build it with make unit", path);
	assert_int_equal(pipe(fds), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl(path, prog, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (!strcmp(line, "end\n")) {
			done = true;
			break;
		}
		assert_true(c->n < MAX_ADDRS);
		assert_int_equal(sscanf(line, "%31s %" SCNx64, c->names[c->n], &c->addrs[c->n]), 2);
		c->n++;
	}
	fclose(f);
	assert_true(done);
}

static void child_stop(struct child *c)
{
	int status;

	kill(c->pid, SIGKILL);
	assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
}

static uint64_t addr_of(const struct child *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->names[i], name))
			return c->addrs[i];
	fail_msg("the fixture printed no address for %s", name);
	return 0;
}

static void expect(struct symbolizer *s, int pid, bool code, uint64_t addr, int found,
		   const char *fmt, ...)
{
	char want[256], buf[256];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	if (code)
		ret = symbolizer_name_code(s, pid, addr, buf, sizeof(buf));
	else
		ret = symbolizer_name_data(s, pid, addr, buf, sizeof(buf));
	if (ret != found || strcmp(buf, want))
		fail_msg("0x%" PRIx64 ": got \"%s\" (%d), want \"%s\" (%d)", addr, buf, ret, want,
			 found);
}

static void expect_prefix(struct symbolizer *s, int pid, uint64_t addr, const char *prefix)
{
	char buf[256];

	assert_int_equal(symbolizer_name_data(s, pid, addr, buf, sizeof(buf)), 0);
	if (strncmp(buf, prefix, strlen(prefix)))
		fail_msg("0x%" PRIx64 ": got \"%s\", want \"%s...\"", addr, buf, prefix);
}

static bool in_text(struct symbolizer *s, int pid, uint64_t addr)
{
	uint64_t starts[64], ends[64];
	size_t n = symbolizer_user_text(s, pid, starts, ends, 64);

	assert_true(n > 0 && n <= 64);
	for (size_t i = 0; i < n; i++) {
		if (i)
			assert_true(starts[i] > ends[i - 1]);
		if (starts[i] <= addr && addr < ends[i])
			return true;
	}
	return false;
}

/* The names of everything the fixture printed (pie: extern function addresses are libc's). */
static void check_names(struct symbolizer *s, const struct child *c, const char *exe, bool pie,
			bool stripped)
{
	const char *lib = "libsymfix.so.1";
	int pid = c->pid;
	uint64_t fn = addr_of(c, "flush_batch");
	char buf[256];

	/* Objects of the executable: .bss (in the anonymous part), .data, static. */
	expect(s, pid, false, addr_of(c, "queue_lock"), 1, "%s:queue_lock", exe);
	expect(s, pid, false, addr_of(c, "queue_lock+8"), 1, "%s:queue_lock+0x8", exe);
	expect(s, pid, false, addr_of(c, "run_config"), 1, "%s:run_config", exe);
	expect(s, pid, false, addr_of(c, "run_config+8"), 1, "%s:run_config+0x8", exe);
	expect(s, pid, false, addr_of(c, "big_pool+0xf000"), 1, "%s:big_pool+0xf000", exe);
	if (stripped) {
		assert_int_equal(symbolizer_name_data(s, pid, addr_of(c, "stats_lock"), buf,
						      sizeof(buf)),
				 0);
		assert_null(strstr(buf, "stats_lock"));
		snprintf(buf, sizeof(buf), "%s:0x", exe);
		expect_prefix(s, pid, addr_of(c, "stats_lock"), buf);
	} else {
		expect(s, pid, false, addr_of(c, "stats_lock"), 1, "%s:stats_lock", exe);
	}

	/* Functions; a code address in no data object; the ELF header, in no symbol. */
	expect(s, pid, true, fn, 1, "%s:flush_batch", exe);
	expect(s, pid, true, addr_of(c, "flush_batch+6"), 1, "%s:flush_batch+0x6", exe);
	snprintf(buf, sizeof(buf), "%s:0x", exe);
	expect_prefix(s, pid, fn, buf);
	/* In no symbol: the ELF address (the header is at the first segment's, 0 for a PIE). */
	expect(s, pid, false, addr_of(c, "ehdr+16"), 0, pie ? "%s:0x10" : "%s:0x400010", exe);
	expect(s, pid, true, addr_of(c, "ehdr+16"), 0, pie ? "%s:0x10" : "%s:0x400010", exe);

	/* Special and anonymous mappings. */
	expect_prefix(s, pid, addr_of(c, "heap"), "[heap]+0x");
	expect_prefix(s, pid, addr_of(c, "stack"), "[stack]+0x");
	expect_prefix(s, pid, addr_of(c, "anon+32"), "[anon]+0x");

	/* The shared library. */
	expect(s, pid, false, addr_of(c, "lib_lock"), 1, "%s:lib_lock", lib);
	expect(s, pid, false, addr_of(c, "lib_lock+8"), 1, "%s:lib_lock+0x8", lib);
	expect(s, pid, false, addr_of(c, "lib_table+16"), 1, "%s:lib_table+0x10", lib);
	expect(s, pid, false, addr_of(c, "lib_hidden"), 1, "%s:lib_hidden", lib);
	expect(s, pid, true, addr_of(c, "lib_work+4"), 1, "%s:lib_work+0x4", lib);

	/* Call-site filtering: the C library is skipped, the program and its library are not. */
	assert_false(symbolizer_is_libc(s, pid, fn));
	assert_false(symbolizer_is_libc(s, pid, addr_of(c, "lib_work+4")));
	assert_true(in_text(s, pid, fn));
	assert_true(in_text(s, pid, addr_of(c, "lib_work+4")));
	assert_false(in_text(s, pid, addr_of(c, "queue_lock")));
	if (pie) {
		uint64_t libc_fn = addr_of(c, "getpid");

		assert_true(symbolizer_is_libc(s, pid, libc_fn));
		assert_false(in_text(s, pid, libc_fn));
		assert_int_equal(symbolizer_name_code(s, pid, libc_fn, buf, sizeof(buf)), 1);
		/* The public alias, not __getpid. */
		assert_int_equal(strncmp(buf, "libc.so", 7), 0);
		assert_non_null(strstr(buf, ":getpid"));
	}
}

/* A live process, named twice (the second update reuses what the first loaded), then gone. */
static void run_fixture(const char *prog, bool pie, bool stripped)
{
	struct symbolizer *s = symbolizer_new();
	struct child c;

	assert_non_null(s);
	child_start(&c, NULL, prog);
	assert_int_equal(symbolizer_update(s, c.pid), 0);
	assert_int_equal(symbolizer_update(s, c.pid), 0);
	check_names(s, &c, prog, pie, stripped);
	child_stop(&c);
	assert_int_equal(symbolizer_update(s, c.pid), -ESRCH);
	check_names(s, &c, prog, pie, stripped);
	symbolizer_free(s);
}

static void test_pie(void **state)
{
	(void)state;
	run_fixture("symprog", true, false);
}

static void test_nopie(void **state)
{
	(void)state;
	run_fixture("symprog_nopie", false, false);
}

static void test_stripped(void **state)
{
	(void)state;
	run_fixture("symprog_stripped", true, true);
}

/* Two processes share the library: each keeps its names after both are gone. */
static void test_two_processes(void **state)
{
	struct symbolizer *s = symbolizer_new();
	struct child a, b;

	(void)state;
	child_start(&a, NULL, "symprog");
	child_start(&b, NULL, "symprog_nopie");
	assert_int_equal(symbolizer_update(s, a.pid), 0);
	assert_int_equal(symbolizer_update(s, b.pid), 0);
	child_stop(&a);
	assert_int_equal(symbolizer_update(s, a.pid), -ESRCH);
	assert_int_equal(symbolizer_update(s, b.pid), 0);
	child_stop(&b);
	check_names(s, &a, "symprog", true, false);
	check_names(s, &b, "symprog_nopie", false, false);
	symbolizer_free(s);
}

/*
 * A stripped copy of a program has its build-id: traced first, it must not
 * stand in for the full one (same build-id, fewer symbols).
 */
static void test_stripped_copy_first(void **state)
{
	struct symbolizer *s = symbolizer_new();
	struct child a, b;

	(void)state;
	child_start(&a, NULL, "symprog_stripped");
	child_start(&b, NULL, "symprog_rdyn");
	assert_int_equal(symbolizer_update(s, a.pid), 0);
	assert_int_equal(symbolizer_update(s, b.pid), 0);
	child_stop(&a);
	child_stop(&b);
	check_names(s, &a, "symprog_stripped", true, true);
	check_names(s, &b, "symprog_rdyn", true, false);
	symbolizer_free(s);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static unsigned char *read_fixture(const char *name, size_t *len)
{
	char path[PATH_MAX];
	unsigned char *buf;
	struct stat st;
	int fd;

	fixture_path(path, sizeof(path), name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

static void copy_fixture(const char *name, const char *dir, mode_t mode)
{
	char path[PATH_MAX];
	unsigned char *buf;
	size_t len;

	buf = read_fixture(name, &len);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	write_file(path, buf, len);
	assert_int_equal(chmod(path, mode), 0);
	free(buf);
}

static uint64_t inode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (uint64_t)st.st_ino;
}

/* "MAJOR:MINOR INODE" of a file, as a maps line gives them (a file is read only if they match). */
static const char *id_of(const char *path, char *buf, size_t len)
{
	struct stat st = { 0 };

	assert_int_equal(stat(path, &st), 0);
	snprintf(buf, len, "%02x:%02x %" PRIu64, major(st.st_dev), minor(st.st_dev),
		 (uint64_t)st.st_ino);
	return buf;
}

/* Whether /proc/PID/map_files can be opened here (root in the initial user namespace). */
static bool map_files_usable(void)
{
	char line[512], path[128];
	uint64_t start, end;
	bool ok = false;
	FILE *f = fopen("/proc/self/maps", "r");
	int fd;

	if (!f)
		return false;
	/* The first file mapping (only those have an entry). */
	while (fgets(line, sizeof(line), f)) {
		if (!strchr(line, '/') || sscanf(line, "%" SCNx64 "-%" SCNx64, &start, &end) != 2)
			continue;
		snprintf(path, sizeof(path), "/proc/self/map_files/%" PRIx64 "-%" PRIx64, start,
			 end);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		ok = fd >= 0;
		if (fd >= 0)
			close(fd);
		break;
	}
	fclose(f);
	return ok;
}

/* Files deleted while mapped ("... (deleted)") are read through /proc/PID/map_files. */
static void test_deleted(void **state)
{
	char dir[] = "/tmp/ct-symbols-XXXXXX", exe[PATH_MAX], lib[PATH_MAX];
	struct symbolizer *s;
	struct child c;

	(void)state;
	if (!map_files_usable())
		skip();
	assert_non_null(mkdtemp(dir));
	copy_fixture("symprog", dir, 0755);
	copy_fixture("libsymfix.so.1", dir, 0755);
	snprintf(exe, sizeof(exe), "%s/symprog", dir);
	snprintf(lib, sizeof(lib), "%s/libsymfix.so.1", dir);
	child_start(&c, dir, "symprog");
	unlink(exe);
	unlink(lib);
	rmdir(dir);
	s = symbolizer_new();
	assert_int_equal(symbolizer_update(s, c.pid), 0);
	check_names(s, &c, "symprog", true, false);
	child_stop(&c);
	check_names(s, &c, "symprog", true, false);
	symbolizer_free(s);
}

/* Whether some address of [start, end) of pid is named in function fn. */
static bool names_function(struct symbolizer *s, int pid, uint64_t start, uint64_t end,
			   const char *fn)
{
	char buf[256];

	for (uint64_t a = start; a < end; a++)
		if (symbolizer_name_code(s, pid, a, buf, sizeof(buf)) == 1 && strstr(buf, fn))
			return true;
	return false;
}

/* A file rewritten in place (same inode) with another build-id is read again. */
static void test_rewritten(void **state)
{
	char dir[] = "/tmp/ct-symbols-XXXXXX", path[PATH_MAX], maps[PATH_MAX + 128], id[64];
	struct symbolizer *s = symbolizer_new();
	struct timespec times[2] = { { 0, UTIME_OMIT }, { 1000000000, 0 } };
	unsigned char *buf;
	int pid = getpid(), fd;
	uint64_t ino;
	size_t len;

	(void)state;
	assert_non_null(mkdtemp(dir));
	copy_fixture("libsymfix.so.1", dir, 0644);
	snprintf(path, sizeof(path), "%s/libsymfix.so.1", dir);
	ino = inode_of(path);
	snprintf(maps, sizeof(maps), "10000000-10004000 r-xp 00000000 %s %s\n",
		 id_of(path, id, sizeof(id)), path);
	assert_int_equal(symbolizer_load_maps(s, pid, maps, strlen(maps)), 0);
	assert_true(names_function(s, pid, 0x10001000, 0x10002000, "libsymfix.so.1:lib_work"));

	/* The same maps, the file unchanged: reused. Then rewritten in place. */
	assert_int_equal(symbolizer_load_maps(s, pid, maps, strlen(maps)), 0);
	assert_true(names_function(s, pid, 0x10001000, 0x10002000, "libsymfix.so.1:lib_work"));
	buf = read_fixture("symprog_nopie", &len);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(futimens(fd, times), 0);
	close(fd);
	free(buf);
	assert_int_equal(inode_of(path), ino);
	assert_int_equal(symbolizer_load_maps(s, pid, maps, strlen(maps)), 0);
	assert_false(names_function(s, pid, 0x10001000, 0x10002000, ":lib_work"));
	assert_true(names_function(s, pid, 0x10001000, 0x10002000, "libsymfix.so.1:flush_batch"));

	unlink(path);
	rmdir(dir);
	symbolizer_free(s);
}

/* Overwrite [off, off + n) of buf (clipped to len) with pseudo-random bytes. */
static void scramble(unsigned char *buf, size_t len, uint64_t off, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n && off + i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[off + i] = (unsigned char)(seed >> 16);
	}
}

/* Garbage, truncated, corrupted and missing files, and lines that are not maps lines. */
static void test_broken(void **state)
{
	char dir[] = "/tmp/ct-symbols-XXXXXX", path[8][PATH_MAX], buf[256], *maps, *p;
	const char *names[] = { "garbage.bin", "trunc.elf", "hdr.elf",
				"shdr.elf",    "phdr.elf",  "empty.so" };
	const char *vdso = "00400000-00401000 r-xp 0 0:0 0 [vdso]\n";
	struct symbolizer *s = symbolizer_new();
	unsigned char junk[8192], *elf, *copy;
	uint64_t starts[16], ends[16], shoff, phoff;
	size_t len, cap = 64 << 10, n;
	int pid = getpid(), ret;
	char id[64];

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < 6; i++)
		snprintf(path[i], sizeof(path[i]), "%s/%s", dir, names[i]);
	scramble(junk, sizeof(junk), 0, sizeof(junk), 1);
	write_file(path[0], junk, sizeof(junk));
	elf = read_fixture("symprog", &len);
	write_file(path[1], elf, 100);
	memcpy(&phoff, elf + 0x20, sizeof(phoff));
	memcpy(&shoff, elf + 0x28, sizeof(shoff));
	copy = malloc(len);
	assert_non_null(copy);
	memcpy(copy, elf, len);
	scramble(copy, len, 0x18, 0x28, 2); /* entry, phoff, shoff, sizes and counts */
	write_file(path[2], copy, len);
	memcpy(copy, elf, len);
	scramble(copy, len, shoff, len, 3); /* the section headers */
	write_file(path[3], copy, len);
	memcpy(copy, elf, len);
	scramble(copy, len, phoff, 13 * 56, 4); /* the program headers */
	write_file(path[4], copy, len);
	write_file(path[5], "", 0);
	free(copy);
	free(elf);

	maps = malloc(cap);
	assert_non_null(maps);
	p = maps;
	p += sprintf(p, "00400000-00402000 r-xp 00000000 %s %s\n", id_of(path[0], id, sizeof(id)),
		     path[0]);
	p += sprintf(p, "00402000-00403000 rw-p 00001000 %s %s\n", id_of(path[0], id, sizeof(id)),
		     path[0]);
	p += sprintf(p, "00403000-00405000 rw-p 00000000 00:00 0\n");
	for (size_t i = 1; i < 6; i++)
		p += sprintf(p, "%08zx-%08zx r-xp 00000000 %s %s\n", 0x500000 + i * 0x100000,
			     0x510000 + i * 0x100000, id_of(path[i], id, sizeof(id)), path[i]);
	p += sprintf(p, "00c00000-00c01000 r-xp 00000000 08:01 123 /nonexistent/libgone.so.1\n"
			"00c01000-00c02000 rw-p 00000000 00:00 0\n"
			"00d00000-00d01000 r--p 00000000 08:01 5 /nonexistent/old.so (deleted)\n"
			"00e00000-00e01000 r--p 00000000 00:05 4 /dev/null\n"
			"00e01000-00e02000 r--p 00000000 00:05 4 /tmp\n"
			"00f00000-00f01000 rw-p 00000000 00:00 0   [anon:my pool]\n"
			"this is not a maps line\n"
			"\n"
			"0000ffff-00000000 r-xp 00000000 00:00 0\n"
			"01000000-01001000\n"
			"01100000-01101000 r-xp zz 00:00 0 /x\n"
			"01200000-01201000 r-xp 00000000 08:01 7 relative/path\n"
			"01300000-01301000 ---p 00000000 00:00 0\n"
			"01500000-01501000 rw-s 00000000 00:01 1025 /dev/zero (deleted)\n"
			"01600000-01601000 rw-s 00000000 00:01 32769 /SYSV0000abcd (deleted)\n"
			"01700000-01701000 rw-s 00000000 00:01 4097 /memfd:pool (deleted)\n"
			"7ffff000-7ffff800 rw-p 00000000 00:00 0 [stack]\n"
			"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]\n"
			"01400000-01401000 r-xp 00000000 08:01 9 /");
	memset(p, 'a', 20000);
	p += 20000;
	p += sprintf(p, "\n00300000-00301000 r-xp 00000000 08:01 8 /late/unsorted.so");
	assert_true((size_t)(p - maps) < cap);
	assert_int_equal(symbolizer_load_maps(s, pid, maps, (size_t)(p - maps)), 0);
	free(maps);

	expect(s, pid, false, 0x400010, 0, "garbage.bin+0x10");
	expect(s, pid, true, 0x402010, 0, "garbage.bin+0x1010");
	expect(s, pid, false, 0x403008, 0, "[anon]+0x8");
	expect(s, pid, false, 0x600000, 0, "trunc.elf+0x0");
	for (size_t i = 2; i < 6; i++) {
		/* Corrupted files: any name, as long as nothing breaks. */
		ret = symbolizer_name_code(s, pid, 0x501000 + i * 0x100000, buf, sizeof(buf));
		assert_true(ret == 0 || ret == 1);
		ret = symbolizer_name_data(s, pid, 0x500040 + i * 0x100000, buf, sizeof(buf));
		assert_true(ret == 0 || ret == 1);
	}
	expect(s, pid, false, 0xa00000, 0, "empty.so+0x0");
	expect(s, pid, true, 0xc00010, 0, "libgone.so.1+0x10");
	expect(s, pid, false, 0xc01000, 0, "[anon]+0x0");
	expect(s, pid, false, 0xd00000, 0, "old.so+0x0");
	expect(s, pid, false, 0xe00000, 0, "null+0x0");
	expect(s, pid, false, 0xe01001, 0, "tmp+0x1");
	expect(s, pid, false, 0xf00004, 0, "[anon:my pool]+0x4");
	expect(s, pid, false, 0x1200000, 0, "path+0x0");
	expect(s, pid, false, 0x1300000, 0, "[anon]+0x0");
	expect(s, pid, false, 0x7ffff010, 0, "[stack]+0x10");
	/* Shared anonymous memory is no file; a memfd keeps its name. */
	expect(s, pid, false, 0x1500010, 0, "[anon shared]+0x10");
	expect(s, pid, false, 0x1600000, 0, "[anon shared]+0x0");
	expect(s, pid, false, 0x1700008, 0, "memfd:pool+0x8");
	expect(s, pid, false, 0x300001, 0, "unsorted.so+0x1");
	expect(s, pid, false, 0x1000, 0, "0x1000");
	expect(s, pid, false, 0x1100000, 0, "0x1100000");
	expect(s, pid, false, 0x7ffff800, 0, "0x7ffff800");
	assert_int_equal(symbolizer_name_data(s, pid, 0x1400000, buf, sizeof(buf)), 0);
	assert_int_equal(strlen(buf), sizeof(buf) - 1);

	/* A buffer too small is filled as far as it goes. */
	assert_int_equal(symbolizer_name_data(s, pid, 0x400010, buf, 4), 0);
	assert_string_equal(buf, "gar");
	assert_int_equal(symbolizer_name_data(s, pid, 0x400010, NULL, 4), -EINVAL);
	assert_int_equal(symbolizer_name_data(s, pid, 0x400010, buf, 0), -EINVAL);

	/* Executable mappings, merged where adjacent; no [vsyscall], no non-executable ones. */
	n = symbolizer_user_text(s, pid, starts, ends, 16);
	assert_true(n >= 8);
	assert_int_equal(starts[0], 0x300000);
	assert_int_equal(ends[0], 0x301000);
	assert_int_equal(starts[1], 0x400000);
	assert_int_equal(ends[1], 0x402000);
	assert_int_equal(ends[n - 1], 0x1401000);
	assert_int_equal(symbolizer_user_text(s, pid, starts, ends, 1), 1);
	assert_int_equal(symbolizer_user_text(s, pid, starts, ends, 0), 0);
	assert_false(symbolizer_is_libc(s, pid, 0x400000));

	/* The same maps again: the files are reused; nothing left then is kept. */
	assert_int_equal(symbolizer_load_maps(s, pid, "", 0), -ESRCH);
	expect(s, pid, false, 0x400010, 0, "garbage.bin+0x10");
	assert_int_equal(symbolizer_load_maps(s, pid, vdso, strlen(vdso)), 0);
	expect(s, pid, false, 0x400010, 0, "[vdso]+0x10");
	expect(s, pid, false, 0x402010, 0, "0x402010");
	assert_int_equal(symbolizer_user_text(s, pid, starts, ends, 16), 0);

	for (size_t i = 0; i < 6; i++)
		unlink(path[i]);
	rmdir(dir);
	symbolizer_free(s);
}

static void test_unknown(void **state)
{
	struct symbolizer *s = symbolizer_new();
	uint64_t starts[1], ends[1];
	char buf[64];

	(void)state;
	assert_int_equal(symbolizer_update(s, 0), -EINVAL);
	assert_int_equal(symbolizer_update(s, INT_MAX), -ESRCH);
	assert_int_equal(symbolizer_name_data(s, 4242, 0x7f1200001000, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0x7f1200001000");
	assert_int_equal(symbolizer_name_code(s, 4242, 0x10, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0x10");
	assert_false(symbolizer_is_libc(s, 4242, 0x10));
	assert_int_equal(symbolizer_user_text(s, 4242, starts, ends, 1), 0);
	symbolizer_free(s);
	symbolizer_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pie),
		cmocka_unit_test(test_nopie),
		cmocka_unit_test(test_stripped),
		cmocka_unit_test(test_two_processes),
		cmocka_unit_test(test_stripped_copy_first),
		cmocka_unit_test(test_deleted),
		cmocka_unit_test(test_rewritten),
		cmocka_unit_test(test_broken),
		cmocka_unit_test(test_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
