// SPDX-License-Identifier: GPL-2.0
/*
 * Runner self-test: a module that WARNs when loaded. `cargo xtask test`
 * boots a guest that loads it and checks the runner reports the splat and
 * fails that run. Not part of kcompletion.
 */
#include <linux/bug.h>
#include <linux/module.h>

static int __init warn_on_load_init(void)
{
	WARN(1, "kcompletion runner self-test");
	return 0;
}

static void __exit warn_on_load_exit(void)
{
}

module_init(warn_on_load_init);
module_exit(warn_on_load_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kcompletion runner self-test: WARN on load");
