// SPDX-License-Identifier: GPL-2.0-only
/*
 * --holds probe sites: the branch in pthread_mutex_lock and the jump in
 * pthread_mutex_unlock found in real glibc code (Debian 12's 2.36, copied
 * below, and the C library of this machine), and the fallbacks when the
 * code differs, is cut short or is no C library at all.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probe/holds.h"

/* The first 0x60 bytes of pthread_mutex_lock in Debian 12's libc.so.6 (glibc 2.36). */
static const uint8_t lock_236[] = {
	0x8b, 0x47, 0x10, 0x89, 0xc2, 0x81, 0xe2, 0x7f, 0x01, 0x00, 0x00, 0x83, 0xe0, 0x7c,
	0x0f, 0x85, 0xac, 0x00, 0x00, 0x00, 0x53, 0x48, 0x83, 0xec, 0x10, 0x85, 0xd2, 0x0f,
	0x85, 0xa7, 0x00, 0x00, 0x00, 0x44, 0x8b, 0x0d, 0x98, 0x96, 0x14, 0x00, 0x45, 0x85,
	0xc9, 0x75, 0x63, 0x8b, 0x77, 0x10, 0x81, 0xe6, 0x80, 0x00, 0x00, 0x00, 0x75, 0x09,
	0x80, 0x3d, 0x29, 0xf2, 0x14, 0x00, 0x00, 0x75, 0x37, 0x31, 0xc0, 0xba, 0x01, 0x00,
	0x00, 0x00, 0xf0, 0x0f, 0xb1, 0x17, 0x0f, 0x85, 0xb6, 0x00, 0x00, 0x00, 0x8b, 0x4f,
	0x08, 0x85, 0xc9, 0x0f, 0x85, 0x61, 0x01, 0x00, 0x00, 0x64, 0x8b, 0x04,
};

/* pthread_mutex_unlock there: mov $0x1,%esi; jmp __pthread_mutex_unlock_usercnt */
static const uint8_t unlock_236[] = { 0xbe, 0x01, 0x00, 0x00, 0x00, 0xe9, 0xf6, 0xfe, 0xff, 0xff };

static void test_glibc_236(void **state)
{
	struct holds_sites s;

	(void)state;
	memset(&s, 0xaa, sizeof(s));
	holds_match_lock(lock_236, sizeof(lock_236), 0x8c370, &s);
	/* The jne after "mov 0x8(%rdi),%ecx; test %ecx,%ecx", at +0x57. */
	assert_true(s.lock_emulated);
	assert_int_equal(s.lock_off, 0x8c3c7);
	holds_match_unlock(unlock_236, sizeof(unlock_236), 0x8dd50, &s);
	assert_true(s.unlock_emulated);
	assert_int_equal(s.unlock_off, 0x8dd55);
}

/* The same code with short jumps (rel8) still matches. */
static void test_short_jumps(void **state)
{
	static const uint8_t code[] = { 0x90, 0xf0, 0x0f, 0xb1, 0x17, 0x75, 0x10, 0x8b,
					0x4f, 0x08, 0x85, 0xc9, 0x75, 0x20, 0xc3 };
	static const uint8_t unlock[] = { 0xbe, 0x01, 0x00, 0x00, 0x00, 0xeb, 0x10 };
	struct holds_sites s;

	(void)state;
	holds_match_lock(code, sizeof(code), 0x1000, &s);
	assert_true(s.lock_emulated);
	assert_int_equal(s.lock_off, 0x1000 + 12);
	holds_match_unlock(unlock, sizeof(unlock), 0x2000, &s);
	assert_true(s.unlock_emulated);
	assert_int_equal(s.unlock_off, 0x2005);
}

/* Other code: no site in lock, the entry for unlock (single-stepped unless a push). */
static void test_unknown_code(void **state)
{
	static const uint8_t other[] = { 0x8b, 0x47, 0x10, 0xf0, 0x0f, 0xb1, 0x17, 0x0f, 0x85,
					 0x00, 0x00, 0x00, 0x00, 0x8b, 0x4f, 0x0c, 0x85, 0xc9 };
	static const uint8_t push[] = { 0x55, 0x48, 0x89, 0xe5 };
	struct holds_sites s;

	(void)state;
	holds_match_lock(other, sizeof(other), 0x4000, &s);
	assert_false(s.lock_emulated);
	assert_int_equal(s.lock_off, 0x4000);
	holds_match_unlock(other, sizeof(other), 0x5000, &s);
	assert_false(s.unlock_emulated);
	assert_int_equal(s.unlock_off, 0x5000);
	holds_match_unlock(push, sizeof(push), 0x6000, &s);
	assert_true(s.unlock_emulated);
	assert_int_equal(s.unlock_off, 0x6000);
}

/* Code cut anywhere inside the pattern: no match, and no read past the end (ASan). */
static void test_truncated(void **state)
{
	struct holds_sites s;

	(void)state;
	for (size_t len = 0; len < sizeof(lock_236); len++) {
		uint8_t *copy = malloc(len ? len : 1);

		assert_non_null(copy);
		memcpy(copy, lock_236, len);
		holds_match_lock(copy, len, 0, &s);
		/* The final jne (0f 85 and rel32) ends at 0x5d. */
		assert_int_equal(s.lock_emulated, len >= 0x5d);
		holds_match_unlock(copy, len, 0, &s);
		assert_false(s.unlock_emulated);
		free(copy);
	}
	for (size_t len = 0; len < sizeof(unlock_236); len++) {
		holds_match_unlock(unlock_236, len, 0, &s);
		assert_int_equal(s.unlock_emulated, len >= 6);
	}
}

/* This machine's C library: both functions found; a site found is a jne. */
static void test_this_libc(void **state)
{
	const char *paths[] = { "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6" };
	struct holds_sites s;
	char err[256] = "";
	uint8_t b[2];
	int fd, ret;

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (access(paths[i], R_OK))
			continue;
		fd = open(paths[i], O_RDONLY);
		assert_true(fd >= 0);
		ret = holds_find_sites(fd, paths[i], &s, err, sizeof(err));
		if (ret == -ENOTSUP) {
			/* Another glibc build: said plainly. */
			assert_non_null(strstr(err, "pthread_mutex_lock"));
			close(fd);
			return;
		}
		assert_int_equal(ret, 0);
		assert_true(s.lock_emulated);
		assert_int_equal(pread(fd, b, 2, (off_t)s.lock_off), 2);
		assert_true(b[0] == 0x75 || (b[0] == 0x0f && b[1] == 0x85));
		if (s.unlock_emulated && s.unlock_off) {
			assert_int_equal(pread(fd, b, 1, (off_t)s.unlock_off), 1);
			assert_true(b[0] == 0xe9 || b[0] == 0xeb || b[0] == 0x55 || b[0] == 0x53);
		}
		close(fd);
		return;
	}
	skip();
}

static void test_not_a_libc(void **state)
{
	char path[] = "/tmp/contrace-holds-XXXXXX", lib[4096], err[256];
	const char *dir = getenv("CONTRACE_FIXTURES");
	struct holds_sites s;
	int fd;

	(void)state;
	/* An ELF file without the functions. */
	snprintf(lib, sizeof(lib), "%s/libsymfix.so.1", dir && *dir ? dir : "build/fixtures");
	fd = open(lib, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(holds_find_sites(fd, lib, &s, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no pthread_mutex_lock"));
	close(fd);
	/* Not ELF at all. */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello, world\n", 13), 13);
	assert_int_equal(holds_find_sites(fd, path, &s, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "not an ELF file"));
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_glibc_236),    cmocka_unit_test(test_short_jumps),
		cmocka_unit_test(test_unknown_code), cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_this_libc),    cmocka_unit_test(test_not_a_libc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
