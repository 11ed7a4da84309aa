/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_RTC_H
#define MICROVM_RTC_H

/*
 * An MC146818-style CMOS RTC at ports 0x70 (index) and 0x71 (data).
 *
 * The time of day is not stored: it is epoch + vclock__now() / 1e9,
 * converted to the register format the guest selected when it reads.  The
 * epoch is a parameter (not read from the host here) because it is an
 * input the replay core records: a live run passes host wall time, a replay
 * passes the recorded value.
 */
#include "../common/util.h"
#include "../common/vclock.h"
#include "bus.h"

#define RTC_IO_BASE		0x70
#define RTC_IO_LEN		2
#define RTC_CMOS_SIZE		128

struct rtc {
	struct vclock *clk;
	s64 epoch;		/* UNIX seconds at virtual time 0 */
	u8 index;		/* selected register, 0..127 */
	bool nmi_masked;	/* port 0x70 bit 7 as last written */
	/* Register C's view: what the guest has seen so far. */
	u64 c_seen_second;	/* virtual second of the last C read */
	u64 c_seen_period;	/* periodic-rate period of the last C read */
	u8 cmos[RTC_CMOS_SIZE];	/* A, B, alarms and plain RAM */
};

void rtc__init(struct rtc *rtc, struct vclock *clk, s64 epoch_seconds);
/* Ports 0x70-0x71.  Returns 0 or bus__register()'s error. */
int rtc__register(struct rtc *rtc, struct bus *bus);

#endif
