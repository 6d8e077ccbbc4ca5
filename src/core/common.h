/* Small helpers every module may use. Internal: include as "core/common.h". */
#ifndef VR_CORE_COMMON_H
#define VR_CORE_COMMON_H

#include <stddef.h>

#include "vreq/mem.h"

#define VR_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#define VR_UNUSED(x) ((void)(x))

/* Test builds see some statics; see STYLE.md §7. */
#ifdef VR_TESTING
#define VR_TESTABLE
#else
#define VR_TESTABLE static
#endif

#endif
