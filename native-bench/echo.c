/*
 * echo: the loopback ceiling. A single-threaded epoll server with the switch's framing (2-byte
 * big-endian length counting the bytes after it) that answers every complete frame with the same
 * bytes, written once per read (all complete frames of the read in one write), like a server that
 * corks its answers per burst. It does no other work, so what a client measures against it is what
 * the kernel, loopback and the client itself cost on this machine.
 *
 *   echo [PORT] [--host ADDR]      PORT 0 (default) picks a free port
 *
 * Prints the port it listens on as one line ("PORT\n") when ready. Exits on SIGTERM/SIGINT and when
 * its parent process dies (PR_SET_PDEATHSIG), so a benchmark that crashes leaves nothing behind.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

#define IN_CAP (128 * 1024)

typedef struct {
    int fd;
    uint8_t *in;        /* unconsumed input (a partial frame at most, between reads) */
    size_t in_len;
    uint8_t *out;       /* answers the socket did not take yet */
    size_t out_len, out_off;
    int want_out;
} conn_t;

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static void close_conn(int ep, conn_t *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
}

/* Writes what is pending; returns -1 on a broken connection. */
static int flush_out(int ep, conn_t *c) {
    while (c->out_off < c->out_len) {
        ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (w > 0) { c->out_off += (size_t)w; continue; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        return -1;
    }
    if (c->out_off == c->out_len) c->out_off = c->out_len = 0;
    int want = c->out_len > 0;
    if (want != c->want_out) {
        struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        c->want_out = want;
    }
    return 0;
}

static int queue_out(conn_t *c, const uint8_t *data, size_t n) {
    if (c->out_len + n > IN_CAP * 4) return -1; /* a client that never reads: drop it */
    if (c->out == NULL) c->out = malloc(IN_CAP * 4);
    if (c->out == NULL) return -1;
    memcpy(c->out + c->out_len, data, n);
    c->out_len += n;
    return 0;
}

static int on_readable(int ep, conn_t *c) {
    for (;;) {
        ssize_t r = read(c->fd, c->in + c->in_len, IN_CAP - c->in_len);
        if (r == 0) return -1;
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            return -1;
        }
        c->in_len += (size_t)r;
        size_t p = 0;
        while (c->in_len - p >= 2) {
            size_t len = ((size_t)c->in[p] << 8) | c->in[p + 1];
            if (c->in_len - p < len + 2) break;
            p += len + 2;
        }
        if (p > 0) {
            if (c->out_len > 0) {
                if (queue_out(c, c->in, p) < 0) return -1;
            } else {
                size_t done = 0;
                while (done < p) {
                    ssize_t w = write(c->fd, c->in + done, p - done);
                    if (w > 0) { done += (size_t)w; continue; }
                    if (w < 0 && errno == EINTR) continue;
                    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
                    return -1;
                }
                if (done < p && queue_out(c, c->in + done, p - done) < 0) return -1;
            }
            if (flush_out(ep, c) < 0) return -1;
            memmove(c->in, c->in + p, c->in_len - p);
            c->in_len -= p;
        }
        if (c->in_len == IN_CAP) return -1; /* a frame longer than 64 KiB cannot exist */
        if ((size_t)r < IN_CAP / 2) return 0; /* drained the socket (level-triggered: we come back) */
    }
}

int main(int argc, char **argv) {
    int port = 0;
    const char *host = "127.0.0.1";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) host = argv[++i];
        else if (strcmp(argv[i], "--help") == 0) {
            fprintf(stderr, "usage: echo [PORT] [--host ADDR]\n");
            return 0;
        } else port = atoi(argv[i]);
    }
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    raise_nofile(65536);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) { fprintf(stderr, "echo: bad host %s\n", host); return 2; }
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 4096) < 0) {
        perror("echo: bind/listen");
        return 1;
    }
    socklen_t alen = sizeof addr;
    getsockname(lfd, (struct sockaddr *)&addr, &alen);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
    printf("%d\n", ntohs(addr.sin_port));
    fflush(stdout);

    struct epoll_event events[512];
    while (!stop) {
        int n = epoll_wait(ep, events, 512, 500);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("echo: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            conn_t *c = events[i].data.ptr;
            if (c == NULL) {
                for (;;) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    conn_t *nc = calloc(1, sizeof *nc);
                    nc->fd = fd;
                    nc->in = malloc(IN_CAP);
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                }
                continue;
            }
            int bad = 0;
            if (events[i].events & EPOLLOUT) bad = flush_out(ep, c) < 0;
            if (!bad && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) bad = on_readable(ep, c) < 0;
            if (bad) close_conn(ep, c);
        }
    }
    return 0;
}
