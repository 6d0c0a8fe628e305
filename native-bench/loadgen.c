/*
 * loadgen: a native load generator for the posp switch (and for the echo server, to measure the
 * loopback ceiling with the very same client).
 *
 * It reads a frame file of pre-built requests (format "PFRM", written by `posp frames`, described
 * in src/loadgen/frames.ts), opens N connections (connection i plays terminal i of the file) and
 * keeps W requests outstanding on each, sending that terminal's frames in file order. Every
 * response is checked: its MTI must answer the request's, its F11 must equal the request's, and its
 * F39 (found by walking the terminal-dialect bitmap, PROTOCOL.md section 2) must equal the expected
 * code. With --echo (against native-bench/echo) the response must be the request's bytes exactly
 * and frames are reused cyclically; against the switch a frame is never sent twice (that would be a
 * retransmission): when a terminal runs out of frames the measurement ends there.
 *
 *   loadgen --port P --frames FILE [--host 127.0.0.1] [--connections N] [--outstanding W]
 *           [--duration S | --count K] [--warmup S] [--short] [--rate R] [--echo]
 *           [--expect CODE | --any-code] [--max-errors N]
 *
 *   --short   one TCP connection per request: connect, send, read the answer, close.
 *   --rate R  open loop: requests are due at a fixed total rate R/s, round-robin over connections;
 *             latency is measured from when a request was due (not when it could be sent), so a
 *             slow server is not flattered by the client waiting for it (no coordinated omission).
 *
 * Prints one JSON object on stdout: tps, latency percentiles (µs) from a log-linear histogram,
 * counts by response code, error counts by kind and a few error samples.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "common.h"

#define IN_CAP 70000 /* > 2 + 65535: any frame fits */
#define TIMER_TAG 0xFFFFFFFFu

typedef struct { const uint8_t *p; uint32_t len; } frame_t; /* p: the 2-byte length, len: total */
typedef struct { frame_t *f; uint32_t n; } term_t;
typedef struct { uint32_t frame; uint64_t intended; } flight_t;

enum { C_IDLE, C_CONNECTING, C_OPEN, C_DEAD };
enum { P_SETUP, P_WARMUP, P_MEASURE, P_DRAIN, P_DONE };
enum { E_CODE, E_MALFORMED, E_STAN, E_MTI, E_MISMATCH, E_CLOSED, E_CONNECT, E_UNANSWERED, E_UNEXPECTED, E_KINDS };
static const char *E_NAMES[E_KINDS] = {"code", "malformed", "stan", "mti", "mismatch", "closed", "connect", "unanswered", "unexpected"};

typedef struct {
    int fd, state;
    uint32_t gen, idx;
    term_t *term;
    uint64_t taken;                 /* frames taken from the terminal so far */
    flight_t *fl;                   /* ring of W requests in flight, oldest first */
    uint32_t fl_head, fl_len;
    uint64_t *due;                  /* open loop: due times not yet sent (this connection was busy) */
    size_t due_head, due_len, due_cap;
    uint8_t *in;
    size_t in_len;
    uint8_t *out;
    size_t out_len, out_off, out_cap;
    int want_out;
} conn_t;

static struct {
    const char *host, *frames;
    int port, connections, outstanding, short_conn, echo, any_code;
    double duration, warmup, rate;
    uint64_t count, max_errors;
    char expect[3];
} opt = {"127.0.0.1", NULL, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 10000, "00"};

static struct sockaddr_in target;
static int ep, tfd = -1;
static term_t *terms;
static uint32_t nterms;
static conn_t *conns;
static int nconns;
static int phase = P_SETUP;
static hist_t hist;
static uint64_t codes[65536];
static uint64_t errors[E_KINDS], error_total;
static char samples[5][160];
static int nsamples;
static uint64_t t_start, t_measure, t_end, t_planned_end, drain_deadline, last_response;
static uint64_t measured, checked, issued_measure, inflight, frames_used, frames_available;
static uint64_t sched_k, sched_t0;
static const char *ended = "duration";
static int exhausted;
static volatile sig_atomic_t interrupted;

static void on_signal(int sig) { (void)sig; interrupted = 1; }

static void die(const char *msg) {
    fprintf(stderr, "loadgen: %s\n", msg);
    exit(2);
}

static void error_at(int kind, conn_t *c, const char *fmt, const char *detail) {
    errors[kind]++;
    error_total++;
    if (nsamples < 5) {
        snprintf(samples[nsamples], sizeof samples[0], "%s on connection %u: %s", E_NAMES[kind], c ? c->idx : 0, detail ? detail : fmt);
        nsamples++;
    }
}

static void end_measure(uint64_t at, const char *why) {
    if (phase >= P_DRAIN) return;
    if (phase == P_WARMUP) t_measure = at; /* ended before measuring: an empty window */
    ended = why;
    t_end = at;
    phase = P_DRAIN;
    drain_deadline = now_ns() + 5000000000ull;
}

/* ------------------------------------------------------------------ frame file */

static uint32_t be32(const uint8_t *p) { return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]; }

static void load_frames(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    struct stat st;
    fstat(fileno(f), &st);
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf || fread(buf, 1, size, f) != size) die("cannot read the frame file");
    fclose(f);
    if (size < 8 || memcmp(buf, "PFRM", 4) != 0) die("not a frame file (magic PFRM)");
    nterms = be32(buf + 4);
    if (nterms == 0) die("the frame file has no terminals");
    terms = calloc(nterms, sizeof *terms);
    size_t p = 8;
    for (uint32_t t = 0; t < nterms; t++) {
        if (p + 4 > size) die("frame file truncated");
        uint32_t n = be32(buf + p);
        p += 4;
        terms[t].n = n;
        terms[t].f = malloc((n ? n : 1) * sizeof(frame_t));
        for (uint32_t k = 0; k < n; k++) {
            if (p + 2 > size) die("frame file truncated");
            uint32_t len = ((uint32_t)buf[p] << 8) | buf[p + 1];
            if (len < CUP_PREFIX || p + 2 + len > size) die("frame file truncated or holds a frame too short to be a request");
            terms[t].f[k].p = buf + p;
            terms[t].f[k].len = len + 2;
            p += 2 + len;
        }
        frames_available += n;
    }
    if (p != size) die("trailing bytes after the last terminal of the frame file");
}

/* ------------------------------------------------------------------ connections */

static void set_events(conn_t *c, uint32_t events) {
    struct epoll_event ev = {.events = events, .data.u64 = ((uint64_t)c->gen << 32) | c->idx};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static int open_socket(conn_t *c) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&target, sizeof target) < 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    c->fd = fd;
    c->gen++;
    c->state = C_CONNECTING;
    c->in_len = 0;
    c->out_len = c->out_off = 0;
    c->want_out = 1;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u64 = ((uint64_t)c->gen << 32) | c->idx};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    return 0;
}

static void close_socket(conn_t *c, int state) {
    if (c->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->state = state;
    c->in_len = 0;
    c->out_len = c->out_off = 0;
}

/* Everything in flight on c is lost (the connection broke). */
static void lose_flights(conn_t *c) {
    if (c->fl_len > 0) {
        errors[E_UNANSWERED] += c->fl_len;
        error_total += c->fl_len;
    }
    inflight -= c->fl_len;
    c->fl_len = 0;
    c->fl_head = 0;
}

static void append_out(conn_t *c, const uint8_t *p, size_t n) {
    if (c->out_len + n > c->out_cap) {
        if (c->out_off > 0) {
            memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
            c->out_len -= c->out_off;
            c->out_off = 0;
        }
        if (c->out_len + n > c->out_cap) {
            c->out_cap = (c->out_len + n) * 2;
            c->out = realloc(c->out, c->out_cap);
            if (!c->out) die("out of memory");
        }
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
}

/* Writes what is queued; 0, or -1 if the connection broke. */
static int flush_out(conn_t *c) {
    while (c->out_off < c->out_len) {
        ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (w > 0) { c->out_off += (size_t)w; continue; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        return -1;
    }
    if (c->out_off == c->out_len) c->out_off = c->out_len = 0;
    int want = c->out_len > 0;
    if (want != c->want_out && c->state == C_OPEN) {
        set_events(c, EPOLLIN | (want ? EPOLLOUT : 0));
        c->want_out = want;
    }
    return 0;
}

/* ------------------------------------------------------------------ issuing requests */

/* Takes the connection's next frame into a new flight; -1 when the run may not send any more. */
static int take(conn_t *c, uint64_t intended, uint32_t *frame) {
    if (phase != P_WARMUP && phase != P_MEASURE) return -1;
    if (phase == P_MEASURE && opt.count && issued_measure >= opt.count) return -1;
    uint32_t n = c->term->n;
    if (n == 0 || (!opt.echo && c->taken >= n)) {
        exhausted = 1;
        end_measure(now_ns(), "frames");
        return -1;
    }
    *frame = (uint32_t)(c->taken % n);
    c->taken++;
    frames_used++;
    if (phase == P_MEASURE) issued_measure++;
    uint32_t slot = (c->fl_head + c->fl_len) % (uint32_t)opt.outstanding;
    c->fl[slot].frame = *frame;
    c->fl[slot].intended = intended;
    c->fl_len++;
    inflight++;
    return 0;
}

/* Issues one request on c (persistent: queue it; short: start connecting). 0 if issued. */
static int issue(conn_t *c, uint64_t intended) {
    uint32_t frame;
    if (opt.short_conn) {
        if (c->state != C_IDLE || c->fl_len > 0) return -1;
        if (take(c, intended, &frame) < 0) return -1;
        if (open_socket(c) < 0) {
            char detail[96];
            snprintf(detail, sizeof detail, "connect: %s", strerror(errno));
            error_at(E_CONNECT, c, NULL, detail);
            c->fl_len = 0;
            c->fl_head = 0;
            inflight--;
            return -2;
        }
        return 0;
    }
    if (c->state != C_OPEN || c->fl_len >= (uint32_t)opt.outstanding) return -1;
    if (take(c, intended, &frame) < 0) return -1;
    append_out(c, c->term->f[frame].p, c->term->f[frame].len);
    return 0;
}

static void due_push(conn_t *c, uint64_t t) {
    if (c->due_len == c->due_cap) {
        size_t cap = c->due_cap ? c->due_cap * 2 : 64;
        uint64_t *d = malloc(cap * sizeof *d);
        if (!d) die("out of memory");
        for (size_t i = 0; i < c->due_len; i++) d[i] = c->due[(c->due_head + i) % c->due_cap];
        free(c->due);
        c->due = d;
        c->due_cap = cap;
        c->due_head = 0;
    }
    c->due[(c->due_head + c->due_len) % c->due_cap] = t;
    c->due_len++;
}

/* Sends what the connection may send now: closed loop, up to W; open loop, its overdue requests. */
static void refill(conn_t *c, uint64_t now) {
    if (c->state == C_DEAD) return;
    if (opt.rate > 0) {
        while (c->due_len > 0) {
            int r = issue(c, c->due[c->due_head]);
            if (r == -1) break;
            c->due_head = (c->due_head + 1) % c->due_cap;
            c->due_len--;
        }
    } else {
        int guard = 0;
        while (issue(c, now) != -1 && ++guard < 64) {
            if (opt.short_conn && c->state == C_IDLE) now = now_ns(); /* a failed connect: try again */
        }
    }
    if (!opt.short_conn && c->state == C_OPEN && c->out_len > c->out_off && flush_out(c) < 0) {
        error_at(E_CLOSED, c, "write failed", NULL);
        lose_flights(c);
        close_socket(c, C_DEAD);
    }
}

/* Open loop: hands every request now due to its connection (round-robin), arms the timer for the next. */
static void schedule(uint64_t now) {
    if (opt.rate <= 0 || (phase != P_WARMUP && phase != P_MEASURE)) return;
    double interval = 1e9 / opt.rate;
    for (;;) {
        uint64_t due = sched_t0 + (uint64_t)((double)sched_k * interval);
        if (due > now) {
            struct itimerspec its = {.it_value = {.tv_sec = (time_t)(due / 1000000000ull), .tv_nsec = (long)(due % 1000000000ull)}};
            timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
            return;
        }
        conn_t *c = &conns[sched_k % (uint64_t)nconns];
        sched_k++;
        if (c->state == C_DEAD) continue;
        due_push(c, due);
        refill(c, now);
        if (phase != P_WARMUP && phase != P_MEASURE) return;
    }
}

/* ------------------------------------------------------------------ responses */

static void on_response(conn_t *c, const uint8_t *r, size_t rlen, uint64_t now) {
    if (c->fl_len == 0) {
        error_at(E_UNEXPECTED, c, "a response with no request in flight", NULL);
        return;
    }
    flight_t fl = c->fl[c->fl_head];
    c->fl_head = (c->fl_head + 1) % (uint32_t)opt.outstanding;
    c->fl_len--;
    inflight--;
    checked++;
    last_response = now;
    const frame_t *req = &c->term->f[fl.frame];
    int ok = 1;
    if (opt.echo) {
        if (rlen != req->len || memcmp(r, req->p, rlen) != 0) {
            error_at(E_MISMATCH, c, "the echo differs from the request", NULL);
            ok = 0;
        }
    } else {
        int roff[65], rl[65], qoff[65], ql[65];
        const uint8_t *rb = r + 2, *qb = req->p + 2;
        if (cup_walk(rb, rlen - 2, 39, roff, rl) < 0 || roff[39] < 0) {
            error_at(E_MALFORMED, c, "the response does not walk to F39", NULL);
            ok = 0;
        } else {
            uint8_t a = rb[roff[39]], b = rb[roff[39] + 1];
            codes[((unsigned)a << 8) | b]++;
            if (rb[11] != qb[11] || rb[12] != (uint8_t)(qb[12] + 0x10)) {
                error_at(E_MTI, c, "the response MTI does not answer the request", NULL);
                ok = 0;
            } else if (cup_walk(qb, req->len - 2, 11, qoff, ql) == 0 && qoff[11] >= 0 &&
                       (roff[11] < 0 || memcmp(rb + roff[11], qb + qoff[11], 3) != 0)) {
                error_at(E_STAN, c, "the response F11 is not the request's", NULL);
                ok = 0;
            } else if (!opt.any_code && (a != (uint8_t)opt.expect[0] || b != (uint8_t)opt.expect[1])) {
                char detail[64];
                snprintf(detail, sizeof detail, "F39 %c%c, expected %s", a >= 32 && a < 127 ? a : '?', b >= 32 && b < 127 ? b : '?', opt.expect);
                error_at(E_CODE, c, NULL, detail);
                ok = 0;
            }
        }
    }
    (void)ok;
    if (phase == P_MEASURE && now >= t_measure) {
        hist_record(&hist, now > fl.intended ? now - fl.intended : 0);
        measured++;
    }
}

/* Reads and handles what arrived on c; -1 if the connection ended. */
static int on_readable(conn_t *c, uint64_t *now) {
    for (;;) {
        ssize_t r = read(c->fd, c->in + c->in_len, IN_CAP - c->in_len);
        if (r == 0) return -1;
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            return -1;
        }
        *now = now_ns();
        c->in_len += (size_t)r;
        size_t p = 0;
        while (c->in_len - p >= 2) {
            size_t len = ((size_t)c->in[p] << 8) | c->in[p + 1];
            if (c->in_len - p < len + 2) break;
            on_response(c, c->in + p, len + 2, *now);
            p += len + 2;
            if (opt.short_conn) {
                /* one transaction per connection: done with this one */
                close_socket(c, C_IDLE);
                return 1;
            }
        }
        if (p > 0) {
            memmove(c->in, c->in + p, c->in_len - p);
            c->in_len -= p;
        }
        if ((size_t)r < IN_CAP / 4) return 0;
    }
}

static void handle_event(conn_t *c, uint32_t events) {
    uint64_t now = now_ns();
    if (c->state == C_CONNECTING) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
            char detail[96];
            snprintf(detail, sizeof detail, "connect: %s", strerror(err ? err : ECONNRESET));
            error_at(E_CONNECT, c, NULL, detail);
            inflight -= c->fl_len;
            c->fl_len = 0;
            c->fl_head = 0;
            close_socket(c, opt.short_conn ? C_IDLE : C_DEAD);
            if (opt.short_conn) refill(c, now);
            return;
        }
        c->state = C_OPEN;
        c->want_out = 0;
        set_events(c, EPOLLIN);
        if (opt.short_conn && c->fl_len > 0) {
            const frame_t *f = &c->term->f[c->fl[c->fl_head].frame];
            append_out(c, f->p, f->len);
            if (flush_out(c) < 0) {
                error_at(E_CLOSED, c, "write failed", NULL);
                lose_flights(c);
                close_socket(c, C_IDLE);
                refill(c, now);
            }
        }
        return;
    }
    if (c->state != C_OPEN) return;
    if ((events & EPOLLOUT) && flush_out(c) < 0) {
        error_at(E_CLOSED, c, "write failed", NULL);
        lose_flights(c);
        close_socket(c, opt.short_conn ? C_IDLE : C_DEAD);
        if (opt.short_conn) refill(c, now);
        return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        int r = on_readable(c, &now);
        if (r < 0) {
            if (c->fl_len > 0 || !opt.short_conn) {
                error_at(E_CLOSED, c, "the server closed the connection", NULL);
                lose_flights(c);
            }
            close_socket(c, opt.short_conn ? C_IDLE : C_DEAD);
        }
        if (c->state != C_DEAD) refill(c, now);
    }
}

/* ------------------------------------------------------------------ main */

static double num(const char *name, const char *v) {
    char *end;
    double d = strtod(v, &end);
    if (!v[0] || *end || !(d >= 0)) {
        fprintf(stderr, "loadgen: %s needs a non-negative number, got %s\n", name, v);
        exit(2);
    }
    return d;
}

static void usage(void) {
    fprintf(stderr,
            "usage: loadgen --port P --frames FILE [--host 127.0.0.1] [--connections N] [--outstanding W]\n"
            "               [--duration S | --count K] [--warmup S] [--short] [--rate R] [--echo]\n"
            "               [--expect CODE | --any-code] [--max-errors N]\n");
}

static void print_json(void) {
    double seconds = t_end > t_measure ? (double)(t_end - t_measure) / 1e9 : 0;
    printf("{\"target\":\"%s:%d\",\"mode\":\"%s\",\"short\":%s,\"echo\":%s,\"connections\":%d,\"outstanding\":%d,",
           opt.host, opt.port, opt.rate > 0 ? "open" : "closed", opt.short_conn ? "true" : "false", opt.echo ? "true" : "false",
           nconns, opt.outstanding);
    if (opt.rate > 0) printf("\"rateTarget\":%.1f,", opt.rate);
    printf("\"warmupSeconds\":%.3f,\"seconds\":%.3f,\"ended\":\"%s\",\"responses\":%llu,\"tps\":%.1f,", opt.warmup, seconds, ended,
           (unsigned long long)measured, seconds > 0 ? (double)measured / seconds : 0.0);
    printf("\"latencyUs\":{\"min\":%.1f,\"mean\":%.1f,\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f},",
           hist.total ? (double)hist.min / 1e3 : 0.0, hist.total ? hist.sum / (double)hist.total / 1e3 : 0.0,
           (double)hist_percentile(&hist, 50) / 1e3, (double)hist_percentile(&hist, 90) / 1e3, (double)hist_percentile(&hist, 99) / 1e3,
           (double)hist_percentile(&hist, 99.9) / 1e3, (double)hist.max / 1e3);
    printf("\"checked\":%llu,\"codes\":{", (unsigned long long)checked);
    int first = 1;
    for (unsigned i = 0; i < 65536; i++) {
        if (!codes[i]) continue;
        unsigned a = i >> 8, b = i & 255;
        if (a >= 32 && a < 127 && b >= 32 && b < 127 && a != '"' && a != '\\' && b != '"' && b != '\\')
            printf("%s\"%c%c\":%llu", first ? "" : ",", a, b, (unsigned long long)codes[i]);
        else
            printf("%s\"x%02X%02X\":%llu", first ? "" : ",", a, b, (unsigned long long)codes[i]);
        first = 0;
    }
    printf("},\"errors\":%llu,\"errorKinds\":{", (unsigned long long)error_total);
    first = 1;
    for (int k = 0; k < E_KINDS; k++) {
        if (!errors[k]) continue;
        printf("%s\"%s\":%llu", first ? "" : ",", E_NAMES[k], (unsigned long long)errors[k]);
        first = 0;
    }
    printf("},\"errorSamples\":[");
    for (int i = 0; i < nsamples; i++) {
        printf("%s\"", i ? "," : "");
        for (const char *s = samples[i]; *s; s++) putchar(*s == '"' || *s == '\\' ? '\'' : *s);
        putchar('"');
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    printf("],\"framesUsed\":%llu,\"framesAvailable\":%llu,\"exhausted\":%s,\"clientCpuSeconds\":%.3f}\n", (unsigned long long)frames_used,
           (unsigned long long)frames_available, exhausted ? "true" : "false", cpu);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define VALUE() (v ? (i++, v) : (fprintf(stderr, "loadgen: %s needs a value\n", a), exit(2), ""))
        if (!strcmp(a, "--host")) opt.host = VALUE();
        else if (!strcmp(a, "--port")) opt.port = (int)num(a, VALUE());
        else if (!strcmp(a, "--frames")) opt.frames = VALUE();
        else if (!strcmp(a, "--connections")) opt.connections = (int)num(a, VALUE());
        else if (!strcmp(a, "--outstanding")) opt.outstanding = (int)num(a, VALUE());
        else if (!strcmp(a, "--duration")) opt.duration = num(a, VALUE());
        else if (!strcmp(a, "--warmup")) opt.warmup = num(a, VALUE());
        else if (!strcmp(a, "--count")) opt.count = (uint64_t)num(a, VALUE());
        else if (!strcmp(a, "--rate")) opt.rate = num(a, VALUE());
        else if (!strcmp(a, "--max-errors")) opt.max_errors = (uint64_t)num(a, VALUE());
        else if (!strcmp(a, "--short")) opt.short_conn = 1;
        else if (!strcmp(a, "--echo")) opt.echo = 1;
        else if (!strcmp(a, "--any-code")) opt.any_code = 1;
        else if (!strcmp(a, "--expect")) {
            const char *e = VALUE();
            if (strlen(e) != 2) die("--expect needs a 2-character response code");
            memcpy(opt.expect, e, 3);
        } else if (!strcmp(a, "--help")) { usage(); return 0; }
        else { fprintf(stderr, "loadgen: unknown option %s\n", a); usage(); return 2; }
#undef VALUE
    }
    if (!opt.port || !opt.frames) { usage(); return 2; }
    if (opt.outstanding < 1) die("--outstanding must be at least 1");
    if (opt.short_conn) opt.outstanding = 1;
    if (opt.duration <= 0 && opt.count == 0) opt.duration = 5;
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    load_frames(opt.frames);
    nconns = opt.connections ? opt.connections : (int)nterms;
    if ((uint32_t)nconns > nterms && !opt.echo) {
        fprintf(stderr, "loadgen: %d connections but the frame file has %u terminals (each connection plays its own terminal)\n", nconns, nterms);
        return 2;
    }
    raise_nofile((rlim_t)nconns * 2 + 64);
    memset(&target, 0, sizeof target);
    target.sin_family = AF_INET;
    target.sin_port = htons((uint16_t)opt.port);
    if (inet_pton(AF_INET, opt.host, &target.sin_addr) != 1) die("--host must be an IPv4 address");
    hist_init(&hist);

    ep = epoll_create1(EPOLL_CLOEXEC);
    conns = calloc((size_t)nconns, sizeof *conns);
    for (int i = 0; i < nconns; i++) {
        conn_t *c = &conns[i];
        c->idx = (uint32_t)i;
        c->fd = -1;
        c->state = C_IDLE;
        c->term = &terms[(uint32_t)i % nterms];
        c->fl = calloc((size_t)opt.outstanding, sizeof *c->fl);
        c->in = malloc(IN_CAP);
    }
    if (opt.rate > 0) {
        tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TIMER_TAG};
        epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
    }

    struct epoll_event events[1024];
    /* Persistent connections: all connected before the clock starts. */
    if (!opt.short_conn) {
        int open = 0;
        for (int i = 0; i < nconns; i++) {
            if (open_socket(&conns[i]) < 0) {
                fprintf(stderr, "loadgen: connect: %s\n", strerror(errno));
                return 1;
            }
        }
        uint64_t limit = now_ns() + 10000000000ull;
        while (open < nconns && !interrupted) {
            if (now_ns() > limit) die("connections not established within 10 s");
            int n = epoll_wait(ep, events, 1024, 100);
            for (int e = 0; e < n; e++) {
                conn_t *c = &conns[(uint32_t)events[e].data.u64];
                if (c->state != C_CONNECTING) continue;
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err || (events[e].events & (EPOLLERR | EPOLLHUP))) {
                    fprintf(stderr, "loadgen: connect to %s:%d: %s\n", opt.host, opt.port, strerror(err ? err : ECONNREFUSED));
                    return 1;
                }
                c->state = C_OPEN;
                c->want_out = 0;
                set_events(c, EPOLLIN);
                open++;
            }
        }
    }

    t_start = now_ns();
    t_measure = t_start + (uint64_t)(opt.warmup * 1e9);
    t_planned_end = opt.duration > 0 ? t_measure + (uint64_t)(opt.duration * 1e9) : UINT64_MAX;
    phase = opt.warmup > 0 ? P_WARMUP : P_MEASURE;
    sched_t0 = t_start;
    if (opt.rate > 0) {
        /* stagger the connections' first requests over one interval of each */
        schedule(t_start);
    } else {
        for (int i = 0; i < nconns && phase < P_DRAIN; i++) refill(&conns[i], t_start);
    }

    while (phase != P_DONE) {
        uint64_t now = now_ns();
        if (interrupted && phase < P_DRAIN) end_measure(now, "interrupted");
        if (phase == P_WARMUP && now >= t_measure) phase = P_MEASURE;
        if (phase == P_MEASURE && now >= t_planned_end) end_measure(t_planned_end, "duration");
        if (phase == P_MEASURE && opt.count && issued_measure >= opt.count && inflight == 0) end_measure(last_response, "count");
        if (phase < P_DRAIN && error_total >= opt.max_errors) end_measure(now, "errors");
        if (phase < P_DRAIN) {
            int alive = 0;
            for (int i = 0; i < nconns && !alive; i++) alive = conns[i].state != C_DEAD;
            if (!alive) end_measure(now, "errors");
        }
        if (phase == P_DRAIN) {
            int connecting = 0;
            for (int i = 0; i < nconns && !connecting; i++) connecting = conns[i].state == C_CONNECTING;
            if ((inflight == 0 && !connecting) || now > drain_deadline) break;
        }
        int timeout = 100;
        if (phase == P_MEASURE && t_planned_end != UINT64_MAX) {
            uint64_t left = t_planned_end > now ? (t_planned_end - now) / 1000000ull + 1 : 0;
            if (left < (uint64_t)timeout) timeout = (int)left;
        }
        if (phase == P_WARMUP) {
            uint64_t left = t_measure > now ? (t_measure - now) / 1000000ull + 1 : 0;
            if (left < (uint64_t)timeout) timeout = (int)left;
        }
        int n = epoll_wait(ep, events, 1024, timeout);
        if (n < 0 && errno != EINTR) { perror("loadgen: epoll_wait"); return 1; }
        for (int e = 0; e < n; e++) {
            uint64_t tag = events[e].data.u64;
            if ((uint32_t)tag == TIMER_TAG) {
                uint64_t expirations;
                ssize_t rr = read(tfd, &expirations, sizeof expirations);
                (void)rr;
                continue;
            }
            conn_t *c = &conns[(uint32_t)tag];
            if ((uint32_t)(tag >> 32) != c->gen || c->fd < 0) continue; /* an event of a socket since closed */
            handle_event(c, events[e].events);
        }
        if (opt.rate > 0) schedule(now_ns());
    }
    if (inflight > 0) {
        errors[E_UNANSWERED] += inflight;
        error_total += inflight;
        if (nsamples < 5) snprintf(samples[nsamples++], sizeof samples[0], "%llu requests unanswered 5 s after the end", (unsigned long long)inflight);
    }
    if (t_end == 0) t_end = now_ns();
    for (int i = 0; i < nconns; i++) close_socket(&conns[i], C_DEAD);
    print_json();
    return 0;
}
