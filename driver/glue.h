/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C helpers of glue.c (called from Rust through driver/ffi.rs) and the Rust entry points
 * they call back. Kept in one header so every non-static function has a prototype.
 */
#ifndef KCOMPLETION_GLUE_H
#define KCOMPLETION_GLUE_H

#include <linux/types.h>

struct file;
struct inode;
struct poll_table_struct;
struct seq_operations;
struct wait_queue_head;
struct xarray;

/* Rust entry points (driver/file_ops.rs). */
long kcompletion_dev_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
long kcompletion_obj_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
__poll_t kcompletion_obj_poll(struct file *file, struct poll_table_struct *pt);
int kcompletion_obj_release(struct inode *inode, struct file *file);
struct vm_area_struct;
int kcompletion_obj_mmap(struct file *file, struct vm_area_struct *vma);
int kcompletion_vma_own_file(struct vm_area_struct *vma);
long kcompletion_set_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
__poll_t kcompletion_set_poll(struct file *file, struct poll_table_struct *pt);
int kcompletion_set_release(struct inode *inode, struct file *file);

/* C helpers (driver/glue.c). */
unsigned int kcompletion_param_max_objects(void);
unsigned int kcompletion_param_max_per_user(void);
bool kcompletion_param_selftest(void);
struct kcompletion_device;
struct kcompletion_device *kcompletion_misc_register(const void *context);
void kcompletion_misc_deregister(struct kcompletion_device *dev);
int kcompletion_obj_file_prepare(bool readable, bool writable, struct file **file);
void kcompletion_obj_file_install(struct file *file, int fd, void *obj);
void kcompletion_obj_file_discard(struct file *file, int fd);
bool kcompletion_is_object_file(const struct file *file);
int kcompletion_set_file_create(void *set);
void kcompletion_get_file(struct file *file);
void kcompletion_poll_wait(struct file *file, struct wait_queue_head *wq,
			   struct poll_table_struct *pt);
struct wait_queue_entry;
void kcompletion_wait_queue_locked(struct wait_queue_head *wq, struct wait_queue_entry *entry);
void kcompletion_init_waitqueue(struct wait_queue_head *wq);
void kcompletion_init_set_waitqueue(struct wait_queue_head *wq);
struct page;
void *kcompletion_page_address(struct page *page);
void kcompletion_cond_resched(void);
void kcompletion_set_current_interruptible(void);
void kcompletion_set_current_running(void);
void kcompletion_wait_queue_add_locked(struct wait_queue_head *wq, struct wait_queue_entry *entry);
void kcompletion_wait_dequeue_locked(struct wait_queue_head *wq, struct wait_queue_entry *entry);
unsigned long kcompletion_all_lock_irqsave(void);
void kcompletion_all_unlock_irqrestore(unsigned long flags);
void kcompletion_wq_lock_nested(struct wait_queue_head *wq);
void kcompletion_wq_unlock_nested(struct wait_queue_head *wq);
unsigned long kcompletion_wq_lock(struct wait_queue_head *wq);
void kcompletion_wq_unlock(struct wait_queue_head *wq, unsigned long flags);
void kcompletion_xa_init(struct xarray *xa);
int kcompletion_xa_alloc(struct xarray *xa, u32 *id, void *entry, u32 max);
struct seq_file;
int kcompletion_proc_register(const struct seq_operations *ops, const void *data);
const void *kcompletion_proc_data(struct seq_file *m);
void kcompletion_proc_unregister(void);
u32 kcompletion_current_fsuid(void);
u32 kcompletion_current_fsgid(void);
bool kcompletion_in_group(u32 kgid);
u32 kcompletion_uid_to_user(u32 kuid);
u32 kcompletion_gid_to_user(u32 kgid);

#endif /* KCOMPLETION_GLUE_H */
