/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_X87_H
#define MICROVM_X87_H

#include <linux/kvm.h>
#include <stdbool.h>

#include "../common/util.h"

/*
 * x87 state arithmetic for the instructions microvm completes where the
 * host cannot execute them (quirks_x87.c), on the KVM_GET_FPU layout:
 * fpr[] in stack order (ST(0) first, as FXSAVE stores them), ftwx the
 * abridged tag byte (bit n: physical register n is in use), TOP in FSW
 * bits 11-13.
 */

/* An int32 as an 80-bit extended value, in a 16-byte register slot. */
void x87__from_int(s32 v, u8 out[16]);
/*
 * Push val: TOP down one, ST(i) becomes ST(i+1), the new ST(0) tagged in
 * use, C1 cleared.  false (nothing changed) when that register is in use:
 * a stack overflow, which raises #IS and is not done here.
 */
bool x87__push(struct kvm_fpu *f, const u8 val[16]);

#endif
