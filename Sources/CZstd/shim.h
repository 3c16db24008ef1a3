// ZSTD_getCParams (stable for years, exported by libzstd.so) sits in the experimental section.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
// ZDICT_optimizeTrainFromBuffer_fastCover (ZstdDictionary.train: a bounded frequency table).
#define ZDICT_STATIC_LINKING_ONLY
#include <zdict.h>
