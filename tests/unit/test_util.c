// SPDX-License-Identifier: Apache-2.0
/* Size parsing: what --mem accepts and refuses. */
#include <errno.h>

#include "tests/unit/check.h"
#include "common/util.h"

static void test_sizes(void)
{
	u64 v = 0;

	CHECK_EQ(util__parse_size("4096", &v), 0);
	CHECK_EQ(v, 4096);
	CHECK_EQ(util__parse_size("64k", &v), 0);
	CHECK_EQ(v, 64 * KiB);
	CHECK_EQ(util__parse_size("256M", &v), 0);
	CHECK_EQ(v, 256 * MiB);
	CHECK_EQ(util__parse_size("1G", &v), 0);
	CHECK_EQ(v, GiB);
	CHECK_EQ(util__parse_size("1GiB", &v), 0);
	CHECK_EQ(v, GiB);
	CHECK_EQ(util__parse_size("512MB", &v), 0);
	CHECK_EQ(v, 512 * MiB);
	CHECK_EQ(util__parse_size("1T", &v), 0);
	CHECK_EQ(v, 1024 * GiB);
	CHECK_EQ(util__parse_size("0", &v), 0);
	CHECK_EQ(v, 0);
}

static void test_bad_sizes(void)
{
	u64 v = 7;

	CHECK_EQ(util__parse_size("", &v), -EINVAL);
	CHECK_EQ(util__parse_size("M", &v), -EINVAL);
	CHECK_EQ(util__parse_size("-1", &v), -EINVAL);
	CHECK_EQ(util__parse_size("12Q", &v), -EINVAL);
	CHECK_EQ(util__parse_size("12MX", &v), -EINVAL);
	CHECK_EQ(util__parse_size(" 12", &v), -EINVAL);
	CHECK_EQ(util__parse_size("99999999999999999999", &v), -ERANGE);
	CHECK_EQ(util__parse_size("99999999999G", &v), -ERANGE);
	CHECK_EQ(util__parse_size(NULL, &v), -EINVAL);
	CHECK_EQ(v, 7);
}

int main(void)
{
	RUN(test_sizes);
	RUN(test_bad_sizes);
	return check_summary();
}
