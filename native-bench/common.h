/*
 * Shared helpers of the native benchmark tools: monotonic time, a log-linear (HDR-style)
 * latency histogram, the CUP terminal-dialect field walker, file-descriptor limits.
 */
#ifndef POSP_NATIVE_COMMON_H
#define POSP_NATIVE_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------------------------------------------
 * Histogram of nanosecond values, log-linear like HdrHistogram: values below 2048 are exact,
 * above that each power of two is split into 1024 equal sub-buckets (relative error < 0.1%).
 * Index layout: bucket b = max(0, msb(v) - 10), sub = v >> b; idx = b * 1024 + sub.
 * ------------------------------------------------------------------------------------------- */
#define HIST_SUB_BITS 10
#define HIST_SUB (1u << HIST_SUB_BITS)          /* 1024 */
#define HIST_BUCKETS 44                          /* up to 2^54 ns, far beyond any run */
#define HIST_SIZE ((HIST_BUCKETS + 1) * HIST_SUB)

typedef struct {
    uint64_t counts[HIST_SIZE];
    uint64_t total;
    uint64_t max;
    uint64_t min;
    double sum;
} hist_t;

static inline void hist_init(hist_t *h) {
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

static inline unsigned hist_index(uint64_t v) {
    if (v < 2 * HIST_SUB) return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned b = msb - HIST_SUB_BITS;            /* >= 1 here */
    if (b >= HIST_BUCKETS) return HIST_SIZE - 1;
    return b * HIST_SUB + (unsigned)(v >> b);
}

/* The highest value that lands in bucket index idx (what HdrHistogram reports for a percentile). */
static inline uint64_t hist_value_at_index(unsigned idx) {
    if (idx < 2 * HIST_SUB) return idx;
    unsigned b = idx / HIST_SUB - 1;
    uint64_t sub = idx - b * HIST_SUB;
    return ((sub + 1) << b) - 1;
}

static inline void hist_record(hist_t *h, uint64_t v) {
    h->counts[hist_index(v)]++;
    h->total++;
    h->sum += (double)v;
    if (v > h->max) h->max = v;
    if (v < h->min) h->min = v;
}

static inline uint64_t hist_percentile(const hist_t *h, double pct) {
    if (h->total == 0) return 0;
    uint64_t want = (uint64_t)((pct / 100.0) * (double)h->total + 0.5);
    if (want < 1) want = 1;
    if (want > h->total) want = h->total;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_SIZE; i++) {
        seen += h->counts[i];
        if (seen >= want) {
            uint64_t v = hist_value_at_index(i);
            return v > h->max ? h->max : v;
        }
    }
    return h->max;
}

/* ---------------------------------------------------------------------------------------------
 * CUP terminal dialect (PROTOCOL.md section 2). A frame is LEN(2) TPDU(5) HEADER(6) MTI(2)
 * BITMAP(8) fields. Kinds: fixed byte count, LL/LLL digit count (BCD, (n+1)/2 bytes),
 * LL/LLL byte count. Fields absent from the table make the frame malformed.
 * ------------------------------------------------------------------------------------------- */
enum { F_NONE = 0, F_FIXED, F_LL_DIGITS, F_LLL_DIGITS, F_LL_BYTES, F_LLL_BYTES };

typedef struct { uint8_t kind; uint16_t size; } cup_field_t;

static const cup_field_t CUP_FIELDS[65] = {
    [2] = {F_LL_DIGITS, 19},  [3] = {F_FIXED, 3},   [4] = {F_FIXED, 6},    [11] = {F_FIXED, 3},
    [12] = {F_FIXED, 3},      [13] = {F_FIXED, 2},  [14] = {F_FIXED, 2},   [15] = {F_FIXED, 2},
    [22] = {F_FIXED, 2},      [23] = {F_FIXED, 2},  [25] = {F_FIXED, 1},   [26] = {F_FIXED, 1},
    [32] = {F_LL_DIGITS, 11}, [35] = {F_LL_DIGITS, 37}, [36] = {F_LLL_DIGITS, 104},
    [37] = {F_FIXED, 12},     [38] = {F_FIXED, 6},  [39] = {F_FIXED, 2},   [41] = {F_FIXED, 8},
    [42] = {F_FIXED, 15},     [44] = {F_LL_BYTES, 25}, [48] = {F_LLL_DIGITS, 322},
    [49] = {F_FIXED, 3},      [52] = {F_FIXED, 8},  [53] = {F_FIXED, 8},
    [54] = {F_LLL_BYTES, 20}, [55] = {F_LLL_BYTES, 255}, [60] = {F_LLL_DIGITS, 17},
    [61] = {F_LLL_DIGITS, 29}, [62] = {F_LLL_BYTES, 512}, [63] = {F_LLL_BYTES, 163},
    [64] = {F_FIXED, 8},
};

#define CUP_PREFIX 21 /* TPDU 5 + header 6 + MTI 2 + bitmap 8 */

static inline int bcd_digit_ok(uint8_t b) { return (b >> 4) <= 9 && (b & 15) <= 9; }

/*
 * Walks the fields of a frame (without its 2-byte length) up to field `upto`, storing the byte
 * offset of each present field's value (after its length prefix) in off[id] and its length in
 * len[id] (bytes on the wire); absent fields get -1. Returns 0, or -1 if the frame is malformed
 * (truncated, secondary bitmap, unknown field, bad BCD length, length above the maximum).
 */
static inline int cup_walk(const uint8_t *f, size_t n, int upto, int off[65], int len[65]) {
    for (int i = 0; i <= 64; i++) off[i] = len[i] = -1;
    if (n < CUP_PREFIX) return -1;
    const uint8_t *bitmap = f + 13;
    if (bitmap[0] & 0x80) return -1;
    size_t p = CUP_PREFIX;
    for (int id = 2; id <= upto && id <= 64; id++) {
        if (!(bitmap[(id - 1) >> 3] & (0x80 >> ((id - 1) & 7)))) continue;
        const cup_field_t *spec = &CUP_FIELDS[id];
        size_t count = 0, bytes = 0;
        switch (spec->kind) {
        case F_FIXED:
            bytes = spec->size;
            break;
        case F_LL_DIGITS:
        case F_LL_BYTES:
            if (p + 1 > n || !bcd_digit_ok(f[p])) return -1;
            count = (size_t)(f[p] >> 4) * 10 + (f[p] & 15);
            p += 1;
            break;
        case F_LLL_DIGITS:
        case F_LLL_BYTES:
            if (p + 2 > n || !bcd_digit_ok(f[p]) || !bcd_digit_ok(f[p + 1])) return -1;
            count = (size_t)(f[p] & 15) * 100 + (size_t)(f[p + 1] >> 4) * 10 + (f[p + 1] & 15);
            p += 2;
            break;
        default:
            return -1;
        }
        if (spec->kind != F_FIXED) {
            if (count > spec->size) return -1;
            bytes = (spec->kind == F_LL_DIGITS || spec->kind == F_LLL_DIGITS) ? (count + 1) / 2 : count;
        }
        if (p + bytes > n) return -1;
        off[id] = (int)p;
        len[id] = (int)bytes;
        p += bytes;
    }
    return 0;
}

/* Raises the open-file limit to at least `want` (soft, and hard when allowed). 0 on success. */
static inline int raise_nofile(rlim_t want) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
    if (rl.rlim_cur >= want) return 0;
    if (rl.rlim_max < want) {
        struct rlimit up = {want, want};
        if (setrlimit(RLIMIT_NOFILE, &up) == 0) return 0;
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        return -1;
    }
    rl.rlim_cur = want;
    return setrlimit(RLIMIT_NOFILE, &rl);
}

#endif
