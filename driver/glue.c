// SPDX-License-Identifier: GPL-2.0
/*
 * kcompletion: the C that Linux 6.12's Rust support cannot replace.
 *
 * Everything here is either a static inline or macro that bindgen cannot export, or a kernel
 * structure whose header the 6.12 `kernel` crate does not bind (struct miscdevice, module
 * parameters). Each function is a thin forwarder; the driver's logic lives in the Rust crate
 * (main.rs and its modules). The kernel Lua host is C of another kind: driver/lua/.
 */
#include <linux/anon_inodes.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/proc_fs.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uidgid.h>
#include <linux/version.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "glue.h"

/* Module parameters: 6.12's Rust `module!` has no `params`. */
static unsigned int max_objects = 65536;
module_param(max_objects, uint, 0444);
MODULE_PARM_DESC(max_objects, "Most objects alive at once (ENOSPC beyond)");

static unsigned int max_per_user = 4096;
module_param(max_per_user, uint, 0444);
MODULE_PARM_DESC(max_per_user, "Most objects one uid may own at once (EDQUOT beyond)");

static unsigned short dev_mode = 0666;
module_param(dev_mode, ushort, 0444);
MODULE_PARM_DESC(dev_mode, "Mode of /dev/kcompletion (objects carry their own permissions)");

static bool selftest;
module_param(selftest, bool, 0444);
MODULE_PARM_DESC(selftest, "Run the kernel-API self-test at load (KTAP lines in the log)");

/* Parameter getters: Rust reads the C statics through these. */
unsigned int kcompletion_param_max_objects(void) { return READ_ONCE(max_objects); }
unsigned int kcompletion_param_max_per_user(void) { return READ_ONCE(max_per_user); }
bool kcompletion_param_selftest(void) { return selftest; }

/*
 * /dev/kcompletion: a miscdevice with the device's Rust context beside it. misc_open() points
 * private_data at the miscdevice before calling our open, which swaps in the context, so the
 * ioctls reach the module's registry with no global (the shape of upstream's
 * MiscDeviceRegistration, which 6.12's kernel crate lacks).
 */
struct kcompletion_device {
	struct miscdevice misc;
	const void *context;
};

static int kc_dev_open(struct inode *inode, struct file *file)
{
	struct kcompletion_device *dev =
		container_of(file->private_data, struct kcompletion_device, misc);

	file->private_data = (void *)dev->context;
	return 0;
}

/* The fops tables need THIS_MODULE, a macro, so that open files pin the module. */
static const struct file_operations kc_dev_fops = {
	.owner = THIS_MODULE,
	.open = kc_dev_open,
	.unlocked_ioctl = kcompletion_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static const struct file_operations kc_obj_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = kcompletion_obj_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.poll = kcompletion_obj_poll,
	.mmap = kcompletion_obj_mmap,
	.release = kcompletion_obj_release,
	.llseek = noop_llseek,
};

/* struct miscdevice and misc_register() are not in 6.12's bindings. ERR_PTR on failure. */
struct kcompletion_device *kcompletion_misc_register(const void *context)
{
	struct kcompletion_device *dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	int err;

	if (!dev)
		return ERR_PTR(-ENOMEM);
	dev->misc.minor = MISC_DYNAMIC_MINOR;
	dev->misc.name = "kcompletion";
	dev->misc.fops = &kc_dev_fops;
	dev->misc.mode = dev_mode & 0777;
	dev->context = context;
	err = misc_register(&dev->misc);
	if (err) {
		kfree(dev);
		return ERR_PTR(err);
	}
	return dev;
}

void kcompletion_misc_deregister(struct kcompletion_device *dev)
{
	misc_deregister(&dev->misc);
	kfree(dev);
}

/*
 * <linux/anon_inodes.h> and fd_install() are not in 6.12's bindings, and kc_obj_fops is only
 * reachable from C. An object fd is made in two steps so that CREATE and OPEN allocate it
 * before they publish or take an object, and nothing can fail after: prepare (a reserved fd
 * number and a file whose private_data is still NULL), then install or discard.
 */
int kcompletion_obj_file_prepare(bool readable, bool writable, struct file **file)
{
	int flags = O_CLOEXEC;
	struct file *f;
	int fd;

	if (readable && writable)
		flags |= O_RDWR;
	else if (writable)
		flags |= O_WRONLY;
	else
		flags |= O_RDONLY;
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		return fd;
	f = anon_inode_getfile("[kcompletion]", &kc_obj_fops, NULL, flags);
	if (IS_ERR(f)) {
		put_unused_fd(fd);
		return PTR_ERR(f);
	}
	*file = f;
	return fd;
}

/* Gives the prepared file its object reference and publishes the fd (cannot fail). */
void kcompletion_obj_file_install(struct file *file, int fd, void *obj)
{
	file->private_data = obj;
	fd_install(fd, file);
}

/* Drops a prepared file that never got an object (its release sees NULL private_data). */
void kcompletion_obj_file_discard(struct file *file, int fd)
{
	put_unused_fd(fd);
	fput(file);
}

static const struct file_operations kc_set_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = kcompletion_set_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.poll = kcompletion_set_poll,
	.release = kcompletion_set_release,
	.llseek = noop_llseek,
};

/*
 * A wait set's fd (driver/wait_set.rs), owning `set` once this succeeds (anon_inode_getfd()
 * is not in 6.12's bindings, and kc_set_fops is only reachable from C). The fd or -errno.
 */
int kcompletion_set_file_create(void *set)
{
	return anon_inode_getfd("[kcompletion-set]", &kc_set_fops, set, O_RDWR | O_CLOEXEC);
}

/* kc_obj_fops is only reachable from C: is this file an object fd (of this module)? */
bool kcompletion_is_object_file(const struct file *file)
{
	return file->f_op == &kc_obj_fops;
}

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 13, 0)
/* get_file() is a static inline; 7.x's kernel crate has its own helper (LocalFile). */
void kcompletion_get_file(struct file *file)
{
	get_file(file);
}
#endif

/* poll_wait() is a static inline. */
void kcompletion_poll_wait(struct file *file, struct wait_queue_head *wq,
			   struct poll_table_struct *pt)
{
	poll_wait(file, wq, pt);
}

/*
 * __add_wait_queue_entry_tail() is a static inline and set_current_state() a macro: a waiter
 * queues itself while holding the queue's lock, in the same locked step as its check for a
 * completion (prepare_to_wait_exclusive() would take the lock a second time).
 */
void kcompletion_wait_queue_locked(struct wait_queue_head *wq, struct wait_queue_entry *entry)
{
	lockdep_assert_held(&wq->lock);
	__add_wait_queue_entry_tail(wq, entry);
	set_current_state(TASK_INTERRUPTIBLE);
}

/*
 * A waiter on several completions (driver/wait_many.rs). set_current_state() is a macro
 * (with a memory barrier); list_del_init() and list_empty() are inlines.
 */
void kcompletion_set_current_interruptible(void)
{
	set_current_state(TASK_INTERRUPTIBLE);
}

void kcompletion_set_current_running(void)
{
	__set_current_state(TASK_RUNNING);
}

/* Queues `entry` at the tail (the caller set the task state once for all its entries). */
void kcompletion_wait_queue_add_locked(struct wait_queue_head *wq, struct wait_queue_entry *entry)
{
	lockdep_assert_held(&wq->lock);
	__add_wait_queue_entry_tail(wq, entry);
}

/* Takes `entry` off its queue if a wake function did not already; the queue's lock held. */
void kcompletion_wait_dequeue_locked(struct wait_queue_head *wq, struct wait_queue_entry *entry)
{
	lockdep_assert_held(&wq->lock);
	if (!list_empty(&entry->entry))
		list_del_init(&entry->entry);
}

/*
 * The wait-all lock: held while one wait-all checks and consumes its objects, whose queue
 * locks it takes nested under it (spin_lock_nest_lock() is a macro; it tells lockdep the
 * many same-class locks are serialised by this one). Only wait-alls take it: complete, wait,
 * try-wait and poll never do.
 */
static DEFINE_SPINLOCK(kcompletion_all_lock);

unsigned long kcompletion_all_lock_irqsave(void)
{
	unsigned long flags;

	spin_lock_irqsave(&kcompletion_all_lock, flags);
	return flags;
}

void kcompletion_all_unlock_irqrestore(unsigned long flags)
{
	spin_unlock_irqrestore(&kcompletion_all_lock, flags);
}

/* A queue lock taken under the wait-all lock (interrupts are off already). */
void kcompletion_wq_lock_nested(struct wait_queue_head *wq)
{
	lockdep_assert_held(&kcompletion_all_lock);
	spin_lock_nest_lock(&wq->lock, &kcompletion_all_lock);
}

void kcompletion_wq_unlock_nested(struct wait_queue_head *wq)
{
	spin_unlock(&wq->lock);
}

/* cond_resched() is a macro whose expansion depends on the preemption model. */
void kcompletion_cond_resched(void)
{
	cond_resched();
}

/*
 * A state page's mapping keeps the module loaded but not its object: it is given a file of
 * its own (no private data) in place of the object fd it was made from, as dma-buf does.
 * Anonymous inodes and vma_set_file() are not in 6.12's bindings.
 */
static const struct file_operations kc_state_fops = {
	.owner = THIS_MODULE,
};

int kcompletion_vma_own_file(struct vm_area_struct *vma)
{
	struct file *f = anon_inode_getfile("[kcompletion-state]", &kc_state_fops, NULL, O_RDONLY);

	if (IS_ERR(f))
		return PTR_ERR(f);
	vma_set_file(vma, f);
	fput(f);
	return 0;
}

/* page_address() is a macro (lowmem_page_address(), an inline, on x86_64). */
void *kcompletion_page_address(struct page *page)
{
	return page_address(page);
}

/* init_waitqueue_head() is a macro that defines the lockdep class key. */
void kcompletion_init_waitqueue(struct wait_queue_head *wq)
{
	init_waitqueue_head(wq);
}

/*
 * A wait set's queue (driver/wait_set.rs): init_waitqueue_head() is a macro giving each call
 * site its own lockdep class, and a set's queue lock nests inside its members' (their wake
 * functions wake it), so it must not share theirs.
 */
void kcompletion_init_set_waitqueue(struct wait_queue_head *wq)
{
	init_waitqueue_head(wq);
}

/* spin_lock_irqsave() is a macro; objects may be completed from interrupt context. */
unsigned long kcompletion_wq_lock(struct wait_queue_head *wq)
{
	unsigned long flags;

	spin_lock_irqsave(&wq->lock, flags);
	return flags;
}

void kcompletion_wq_unlock(struct wait_queue_head *wq, unsigned long flags)
{
	spin_unlock_irqrestore(&wq->lock, flags);
}

/* xa_init_flags() and xa_alloc() are static inlines; XA_FLAGS_* are macros. */
void kcompletion_xa_init(struct xarray *xa)
{
	xa_init_flags(xa, XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT);
}

int kcompletion_xa_alloc(struct xarray *xa, u32 *id, void *entry, u32 max)
{
	return xa_alloc(xa, id, entry, XA_LIMIT(1, max), GFP_KERNEL_ACCOUNT);
}

/* proc_create_seq_data() is a macro and <linux/proc_fs.h> is not in 6.12's bindings. */
int kcompletion_proc_register(const struct seq_operations *ops, const void *data)
{
	return proc_create_seq_data("kcompletion", 0444, NULL, ops, (void *)data) ? 0 : -ENOMEM;
}

/* The data given to kcompletion_proc_register(), for a seq_file of the entry. */
const void *kcompletion_proc_data(struct seq_file *m)
{
	return pde_data(file_inode(m->file));
}

void kcompletion_proc_unregister(void)
{
	remove_proc_entry("kcompletion", NULL);
}

/* current_fsuid()/current_fsgid() and current_user_ns() are macros. */
u32 kcompletion_current_fsuid(void)
{
	return __kuid_val(current_fsuid());
}

u32 kcompletion_current_fsgid(void)
{
	return __kgid_val(current_fsgid());
}

/* in_group_p() takes a kgid_t by value; ids map through the caller's user namespace. */
bool kcompletion_in_group(u32 kgid)
{
	return in_group_p(KGIDT_INIT(kgid));
}

u32 kcompletion_uid_to_user(u32 kuid)
{
	return from_kuid_munged(current_user_ns(), KUIDT_INIT(kuid));
}

u32 kcompletion_gid_to_user(u32 kgid)
{
	return from_kgid_munged(current_user_ns(), KGIDT_INIT(kgid));
}
