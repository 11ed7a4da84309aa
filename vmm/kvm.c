// SPDX-License-Identifier: Apache-2.0
/* /dev/kvm, the VM, its RAM and its single vCPU. */
#include "kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Intel VMX needs three pages for the real-mode TSS; outside RAM. */
#define KVM_TSS_ADDR 0xfffbd000UL

static int kvm_open_dev(struct kvm *kvm)
{
	struct stat st;

	kvm->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm->sys_fd >= 0) {
		/*
		 * A shell's `exec 3<>/dev/kvm` run as root on a host without
		 * KVM creates an empty regular file there, which opens fine
		 * and then fails every ioctl with a confusing message.
		 */
		if (fstat(kvm->sys_fd, &st) == 0 && !S_ISCHR(st.st_mode)) {
			pr_err("/dev/kvm is not a character device (%s, probably created by mistake: remove it); KVM is not available on this host",
			       S_ISREG(st.st_mode) ? "a regular file" : "not a device");
			close(kvm->sys_fd);
			kvm->sys_fd = -1;
			return -ENODEV;
		}
		return 0;
	}
	switch (errno) {
	case ENOENT:
		pr_err("cannot open /dev/kvm: no such device; KVM is not available on this host (load kvm_intel or kvm_amd, or enable virtualization in the firmware / for this VM)");
		break;
	case EACCES:
	case EPERM:
		pr_err("cannot open /dev/kvm: %s; add your user to the group that owns /dev/kvm (usually 'kvm': sudo usermod -aG kvm $USER, then log in again) or run as root",
		       strerror(errno));
		break;
	default:
		pr_err("cannot open /dev/kvm: %s", strerror(errno));
	}
	return -errno;
}

static int kvm_check_caps(struct kvm *kvm)
{
	static const struct {
		int cap;
		const char *name;
	} needed[] = {
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
		{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
		{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	};
	unsigned int i;
	int ver = ioctl(kvm->sys_fd, KVM_GET_API_VERSION, 0);

	if (ver != KVM_API_VERSION) {
		pr_err("/dev/kvm speaks KVM API %d, microvm needs %d", ver,
		       KVM_API_VERSION);
		return -ENOTSUP;
	}
	for (i = 0; i < ARRAY_SIZE(needed); i++) {
		if (ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, needed[i].cap) <= 0) {
			pr_err("this host's KVM lacks %s, which microvm needs",
			       needed[i].name);
			return -ENOTSUP;
		}
	}
	return 0;
}

int kvm__open(struct kvm *kvm)
{
	int ret;

	memset(kvm, 0, sizeof(*kvm));
	kvm->vm_fd = kvm->vcpu_fd = -1;
	ret = kvm_open_dev(kvm);
	if (ret)
		return ret;
	ret = kvm_check_caps(kvm);
	if (ret) {
		close(kvm->sys_fd);
		kvm->sys_fd = -1;
	}
	return ret;
}

int kvm__check_mem_size(u64 mem_size)
{
	if (mem_size < KVM_RAM_MIN) {
		pr_err("--mem %llu bytes is too small: guest RAM must be at least %llu MiB",
		       (unsigned long long)mem_size, KVM_RAM_MIN / MiB);
		return -EINVAL;
	}
	if (mem_size > KVM_RAM_MAX) {
		pr_err("--mem %llu MiB is too large: microvm supports at most %llu MiB of guest RAM (RAM must fit below the device window at 3 GiB)",
		       (unsigned long long)(mem_size / MiB), KVM_RAM_MAX / MiB);
		return -EINVAL;
	}
	if (mem_size % (4 * KiB)) {
		pr_err("--mem must be a multiple of 4 KiB");
		return -EINVAL;
	}
	return 0;
}

static int kvm_alloc_ram(struct kvm *kvm, u64 mem_size)
{
	struct kvm_userspace_memory_region region;
	void *p;

	/*
	 * MAP_NORESERVE: the guest touches only what it uses, and a large
	 * --mem should not fail on hosts with strict overcommit accounting.
	 */
	p = mmap(NULL, mem_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		pr_err("cannot allocate %llu MiB of guest RAM: %s",
		       (unsigned long long)(mem_size / MiB), strerror(errno));
		return -ENOMEM;
	}
	madvise(p, mem_size, MADV_MERGEABLE);
	kvm->mem.host = p;
	kvm->mem.size = mem_size;

	region = (struct kvm_userspace_memory_region){
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = mem_size,
		.userspace_addr = (u64)(uintptr_t)p,
	};
	if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		pr_err("KVM_SET_USER_MEMORY_REGION (%llu MiB): %s",
		       (unsigned long long)(mem_size / MiB), strerror(errno));
		return -errno;
	}
	return 0;
}

static int kvm_create_vcpu(struct kvm *kvm)
{
	int sz;

	kvm->vcpu_fd = ioctl(kvm->vm_fd, KVM_CREATE_VCPU, 0);
	if (kvm->vcpu_fd < 0) {
		pr_err("KVM_CREATE_VCPU: %s", strerror(errno));
		return -errno;
	}
	sz = ioctl(kvm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run)) {
		pr_err("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return -EINVAL;
	}
	kvm->run_size = sz;
	kvm->run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED,
			kvm->vcpu_fd, 0);
	if (kvm->run == MAP_FAILED) {
		kvm->run = NULL;
		pr_err("mmap of the vCPU run area: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int kvm__create_vm(struct kvm *kvm, u64 mem_size)
{
	int ret;

	kvm->vm_fd = ioctl(kvm->sys_fd, KVM_CREATE_VM, 0);
	if (kvm->vm_fd < 0) {
		pr_err("KVM_CREATE_VM: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(kvm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0) {
		pr_err("KVM_SET_TSS_ADDR: %s", strerror(errno));
		return -errno;
	}
	ret = kvm_alloc_ram(kvm, mem_size);
	if (ret)
		return ret;
	return kvm_create_vcpu(kvm);
}

void kvm__close(struct kvm *kvm)
{
	if (kvm->run)
		munmap(kvm->run, kvm->run_size);
	if (kvm->vcpu_fd >= 0)
		close(kvm->vcpu_fd);
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	if (kvm->mem.host)
		munmap(kvm->mem.host, kvm->mem.size);
	if (kvm->sys_fd >= 0)
		close(kvm->sys_fd);
	kvm->run = NULL;
	kvm->mem.host = NULL;
	kvm->vcpu_fd = kvm->vm_fd = kvm->sys_fd = -1;
}

/* struct kvm_msrs ends in a flexible array: build it on the heap. */
static int kvm_msrs(int vcpu_fd, unsigned long req, const u32 *index,
		    u64 *value, unsigned int n, bool set)
{
	struct kvm_msrs *m;
	unsigned int i;
	int ret;

	m = calloc(1, sizeof(*m) + n * sizeof(struct kvm_msr_entry));
	if (!m)
		return -ENOMEM;
	m->nmsrs = n;
	for (i = 0; i < n; i++) {
		m->entries[i].index = index[i];
		if (set)
			m->entries[i].data = value[i];
	}
	ret = ioctl(vcpu_fd, req, m);
	if (ret < 0)
		ret = -errno;
	else if ((unsigned int)ret != n)
		ret = -EIO;
	else
		ret = 0;
	for (i = 0; !ret && !set && i < n; i++)
		value[i] = m->entries[i].data;
	free(m);
	return ret;
}

int kvm__get_msrs(int vcpu_fd, const u32 *index, u64 *value, unsigned int n)
{
	return kvm_msrs(vcpu_fd, KVM_GET_MSRS, index, value, n, false);
}

int kvm__set_msrs(int vcpu_fd, const u32 *index, const u64 *value,
		  unsigned int n)
{
	return kvm_msrs(vcpu_fd, KVM_SET_MSRS, index, (u64 *)value, n, true);
}
