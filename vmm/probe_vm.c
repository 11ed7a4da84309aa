// SPDX-License-Identifier: Apache-2.0
/* The throwaway VM of the host probes (probe_vm.h). */
#include "probe_vm.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

int probe_vm__create(struct probe_vm *p, const u8 *code, size_t len,
		     bool policy_cpuid)
{
	int ret;

	memset(p, 0, sizeof(*p));
	ret = kvm__open(&p->kvm);
	if (ret)
		return ret;
	ret = kvm__alloc_ram(&p->kvm, PROBE_RAM);
	if (!ret)
		ret = kvm__create_vm(&p->kvm);
	if (ret)
		goto fail;
	ret = boot__setup_tables(&p->kvm.mem, &p->bi);
	if (ret)
		goto fail;
	memcpy(guest_mem__ptr(&p->kvm.mem, PROBE_CODE, len), code, len);
	p->bi.entry = PROBE_CODE;
	/*
	 * The lowest policy: it can be built on any host, and it hides the
	 * most, so a host that does not enforce it shows the most.
	 */
	ret = policy_cpuid ? cpuid__build(p->kvm.sys_fd, "v1", true, &p->cpuid) :
			     cpuid__supported(p->kvm.sys_fd, &p->cpuid);
	if (!ret)
		ret = cpuid__apply(p->kvm.vcpu_fd, &p->cpuid);
	if (ret)
		goto fail;
	ret = boot__setup_vcpu(p->kvm.vcpu_fd, &p->bi);
	if (ret)
		goto fail;
	return 0;
fail:
	kvm__close(&p->kvm);
	return ret;
}

void probe_vm__destroy(struct probe_vm *p)
{
	kvm__close(&p->kvm);
}

int probe_vm__run(struct probe_vm *p)
{
	if (ioctl(p->kvm.vcpu_fd, KVM_RUN, 0) < 0)
		return -errno;
	return p->kvm.run->exit_reason;
}
