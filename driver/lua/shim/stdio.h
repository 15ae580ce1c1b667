/* SPDX-License-Identifier: GPL-2.0 */
/* kcompletion: <stdio.h> for the Lua core, onto the kernel (driver/lua/shim). */
#ifndef KCLUA_SHIM_STDIO_H
#define KCLUA_SHIM_STDIO_H
#include <linux/kernel.h>
#include <linux/stddef.h>
/*
 * Only lauxlib.c's luaL_loadfilex uses files; kernel Lua has no loadfile/dofile, so these
 * stubs are never called: every open fails.
 */
typedef struct kclua_no_file FILE;
#define stdin ((FILE *)NULL)
#define EOF (-1)
#define BUFSIZ 64
static inline FILE *fopen(const char *p, const char *m) { return NULL; }
static inline FILE *freopen(const char *p, const char *m, FILE *f) { return NULL; }
static inline int fclose(FILE *f) { return 0; }
static inline int getc(FILE *f) { return EOF; }
static inline size_t fread(void *b, size_t s, size_t n, FILE *f) { return 0; }
static inline int feof(FILE *f) { return 1; }
static inline int ferror(FILE *f) { return 1; }
#endif
