// ZSTD_getCParams (stable for years, exported by libzstd.so) sits in the experimental section.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zdict.h>
