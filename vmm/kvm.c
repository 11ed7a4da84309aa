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

/*
 * /dev/kvm must be the KVM character device.  A regular file there (a
 * shell's `exec 3<>/dev/kvm` as root creates one) or some other device
 * would otherwise fail later with a baffling ioctl error.
 */
static int kvm_check_node(void)
{
	struct stat st;

	if (stat("/dev/kvm", &st) < 0)
		return 0;	/* open() below says why */
	if (S_ISCHR(st.st_mode))
		return 0;
	pr_err("/dev/kvm is not a KVM device (it is %s); KVM is not available on this host%s",
	       S_ISREG(st.st_mode) ? "a regular file" :
	       S_ISDIR(st.st_mode) ? "a directory" : "not a character device",
	       S_ISREG(st.st_mode) && !st.st_size ?
		       " (an empty file left by a script that opened it for writing: remove it)" :
		       "");
	return -ENODEV;
}

static int kvm_open_dev(struct kvm *kvm)
{
	int ret = kvm_check_node();

	if (ret)
		return ret;
	kvm->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm->sys_fd >= 0)
		return 0;
	switch (errno) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		pr_err("cannot open /dev/kvm: %s; KVM is not available on this host (load kvm_intel or kvm_amd, or enable virtualization in the firmware / for this VM)",
		       strerror(errno));
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

	if (ver < 0) {
		pr_err("/dev/kvm is not a KVM device (KVM_GET_API_VERSION: %s)",
		       strerror(errno));
		return -ENODEV;
	}
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

	kvm->sys_fd = kvm->vm_fd = kvm->vcpu_fd = -1;
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

int kvm__alloc_ram(struct kvm *kvm, u64 mem_size)
{
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
	return 0;
}

static int kvm_register_ram(struct kvm *kvm)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.flags = kvm->dirty_log ? KVM_MEM_LOG_DIRTY_PAGES : 0,
		.guest_phys_addr = 0,
		.memory_size = kvm->mem.size,
		.userspace_addr = (u64)(uintptr_t)kvm->mem.host,
	};

	if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		pr_err("KVM_SET_USER_MEMORY_REGION (%llu MiB): %s",
		       (unsigned long long)(kvm->mem.size / MiB),
		       strerror(errno));
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

int kvm__create_vm(struct kvm *kvm)
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
	ret = kvm_register_ram(kvm);
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

int kvm__enforce_pv_cpuid(const struct kvm *kvm)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_ENFORCE_PV_FEATURE_CPUID,
		.args = { 1 },
	};

	if (ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION,
		  KVM_CAP_ENFORCE_PV_FEATURE_CPUID) <= 0)
		return 0;
	if (ioctl(kvm->vcpu_fd, KVM_ENABLE_CAP, &cap) < 0) {
		pr_err("KVM_ENABLE_CAP(ENFORCE_PV_FEATURE_CPUID): %s",
		       strerror(errno));
		return -errno;
	}
	return 1;
}

int kvm__enable_dirty_log(struct kvm *kvm)
{
	kvm->dirty_log = true;
	return kvm_register_ram(kvm);
}

int kvm__get_dirty_log(const struct kvm *kvm, u64 *bitmap)
{
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bitmap };

	if (ioctl(kvm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
		return -errno;
	return 0;
}

int kvm__inject_exception(const struct kvm *kvm, u8 vector)
{
	struct kvm_vcpu_events ev;

	if (ioctl(kvm->vcpu_fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return -errno;
	ev.exception.injected = 1;
	ev.exception.nr = vector;
	ev.exception.has_error_code = 0;
	ev.exception.error_code = 0;
	ev.flags = 0;
	return ioctl(kvm->vcpu_fd, KVM_SET_VCPU_EVENTS, &ev) < 0 ? -errno : 0;
}

__u64 *kvm__gpr(struct kvm_regs *r, unsigned int enc)
{
	__u64 *const map[16] = {
		&r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp, &r->rsi,
		&r->rdi, &r->r8, &r->r9, &r->r10, &r->r11, &r->r12, &r->r13,
		&r->r14, &r->r15,
	};

	return map[enc & 15];
}

bool kvm__in_shadow(const struct kvm *kvm)
{
	struct kvm_vcpu_events ev;

	if (ioctl(kvm->vcpu_fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return true;
	return ev.interrupt.shadow != 0;
}

bool kvm__event_pending(const struct kvm *kvm)
{
	struct kvm_vcpu_events ev;

	if (ioctl(kvm->vcpu_fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return true;
	return ev.interrupt.injected || ev.exception.injected ||
	       ev.exception.pending || ev.nmi.injected || ev.nmi.pending;
}
