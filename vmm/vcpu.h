/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_VCPU_H
#define MICROVM_VCPU_H

#include <stdbool.h>

struct vm;

/*
 * The vCPU run loop: enter the guest, dispatch its exits to the bus,
 * release queued asynchronous events at exits, inject the PIC's
 * interrupts.  Returns when vm->state is no longer VM_RUNNING.
 */
void vcpu__run(struct vm *vm);
/* Installs the kick signal handler; call on the vCPU thread before run. */
int vcpu__init_kick(struct vm *vm);
/*
 * One KVM_RUN (timed, quirks applied): 0, -EINTR when kicked, -EIO when
 * it failed for good (the vm is stopped, the reason said).
 */
int vcpu__kvm_run(struct vm *vm);
/* Recording: an input or a timer is due (the guest may be stopped for it). */
bool vcpu__inputs_due(struct vm *vm);
/* Any thread: get the vCPU out of KVM_RUN so it looks at the queue. */
void vcpu__kick(void *vm);

#endif
